"""Properties of rate strings ("100/s", "5/10m", "100/300"): round trip, and clear rejections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_stability.checks._rates import UNITS, Rate, parse_rate
from tests.properties import PROPERTY

counts = st.integers(min_value=1, max_value=10**9)
multipliers = st.integers(min_value=1, max_value=10**6)
units = st.sampled_from(sorted(UNITS))


@PROPERTY
@given(counts, units)
def test_count_per_unit(count: int, unit: str) -> None:
    """``N/u`` is N events per one unit."""
    assert parse_rate(f"{count}/{unit}") == Rate(count, UNITS[unit])


@PROPERTY
@given(counts, multipliers, units)
def test_count_per_multiple_of_a_unit(count: int, multiplier: int, unit: str) -> None:
    """``N/Mu`` is N events per M units."""
    assert parse_rate(f"{count}/{multiplier}{unit}") == Rate(
        count, multiplier * UNITS[unit]
    )


@PROPERTY
@given(counts, multipliers, units)
def test_a_parsed_rate_written_in_seconds_parses_back_to_itself(
    count: int, multiplier: int, unit: str
) -> None:
    """Round trip: the seconds form ``N/S`` of any parsed rate is the same rate."""
    rate = parse_rate(f"{count}/{multiplier}{unit}")
    assert parse_rate(f"{rate.count}/{rate.seconds}") == rate
    assert parse_rate(f"{rate.count}/{rate.seconds}s") == rate


def _rejected(text: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_rate(text)
    assert repr(text) in str(raised.value)  # the message quotes the rate it refuses


@PROPERTY
@given(counts, units, st.sampled_from(["", "0"]))
def test_a_zero_count_or_period_is_refused(count: int, unit: str, zero: str) -> None:
    """``0/s`` and ``N/0u`` are errors that say so (None is how a limit is disabled)."""
    _rejected(f"0/{unit}")
    _rejected(f"{count}/{zero}0{unit}")


@PROPERTY
@given(
    counts,
    units,
    st.sampled_from(["inute", "in", "ec", "our", "ay", "x", " ", "/", "s"]),
)
def test_a_unit_with_a_tail_is_refused(count: int, unit: str, tail: str) -> None:
    """``100/minute`` does not silently mean per minute: only the exact grammar parses."""
    _rejected(f"{count}/{unit}{tail}")


@PROPERTY
@given(counts, units, st.sampled_from([" ", "\t", "\n", "+", "-"]))
def test_padding_and_signs_are_refused(count: int, unit: str, pad: str) -> None:
    """Whitespace around it and signed numbers are errors, not quietly stripped."""
    _rejected(f"{pad}{count}/{unit}")
    _rejected(f"{count}/{unit}{pad}")


@PROPERTY
@given(counts, units)
def test_an_upper_case_unit_is_refused(count: int, unit: str) -> None:
    """``100/M`` does not quietly mean per second (as django-ratelimit's own parser does)."""
    _rejected(f"{count}/{unit.upper()}")


@PROPERTY
@given(
    st.one_of(
        st.text(max_size=20),
        # Near misses of the grammar: signs, spaces, case, units and digits mixed up.
        st.from_regex(r"[0-9 +-]{0,3}/[0-9 ]{0,3}[smhdSMHDx ]{0,2}", fullmatch=True),
    )
)
def test_any_text_parses_to_a_positive_rate_or_raises_a_value_error(text: str) -> None:
    """Nothing in between: a Rate of at least one event per at least one second, or ValueError."""
    try:
        rate = parse_rate(text)
    except ValueError as error:
        assert repr(text) in str(error)
        return
    assert rate.count >= 1 and rate.seconds >= 1
    count, _, period = text.partition("/")
    assert int(count) == rate.count and period


@PROPERTY
@given(st.one_of(st.integers(), st.none(), st.tuples(counts, counts)))
def test_a_non_string_is_a_type_error(value: object) -> None:
    """A rate given as a number or a tuple is a TypeError naming the type."""
    with pytest.raises(TypeError, match=type(value).__name__):
        parse_rate(value)  # type: ignore[arg-type]
