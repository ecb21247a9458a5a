from __future__ import annotations

import pytest

from django_stability.checks._rates import Rate, parse_rate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100/s", Rate(100, 1)),
        ("100/m", Rate(100, 60)),
        ("1000/h", Rate(1000, 3600)),
        ("5/d", Rate(5, 86400)),
        ("5/10m", Rate(5, 600)),
        ("100/5m", Rate(100, 300)),
        ("100/300s", Rate(100, 300)),
        ("100/300", Rate(100, 300)),
        ("007/02h", Rate(7, 7200)),
    ],
)
def test_documented_grammar_parses(text, expected):
    """Every form of django-ratelimit's documented rate grammar gives count and seconds."""
    assert parse_rate(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "100",
        "100/",
        "/s",
        "100/minute",
        "100/M",
        "100/S",
        "100 /s",
        " 100/s",
        "100/s ",
        "100/s\n",
        "100/w",
        "1.5/s",
        "-1/s",
        "100/1.5m",
        "100/s/m",
        "١٠٠/s",  # Arabic-Indic digits are digits to \d, not to us
    ],
)
def test_malformed_rate_is_rejected_with_the_grammar(text):
    """A rate that django-ratelimit would misread or reject raises ValueError quoting it and the grammar."""
    with pytest.raises(ValueError, match=r"expected \"N/u\" or \"N/Mu\"") as caught:
        parse_rate(text)
    assert repr(text) in str(caught.value)


def test_zero_count_is_rejected_pointing_at_none():
    """A limit of zero requests would block everything: the error says None disables a limit instead."""
    with pytest.raises(
        ValueError, match=r"invalid rate '0/s': the count must be at least 1 \(use None"
    ):
        parse_rate("0/s")


@pytest.mark.parametrize("text", ["5/0m", "5/0", "5/00s"])
def test_zero_period_is_rejected(text):
    """A zero-length window is rejected instead of dividing by zero later."""
    with pytest.raises(ValueError, match="the period must be at least 1"):
        parse_rate(text)


@pytest.mark.parametrize("value", [None, 100, (100, 1), b"100/s"])
def test_non_string_is_a_type_error(value):
    """Passing something other than a string names the type received."""
    with pytest.raises(TypeError, match=f"not {type(value).__name__}"):
        parse_rate(value)


def test_rate_is_immutable_and_hashable():
    """A parsed rate can be cached and used as a dict key."""
    rate = parse_rate("5/10m")
    with pytest.raises(AttributeError):
        rate.count = 6  # type: ignore[misc]
    assert {rate: "x"}[Rate(5, 600)] == "x"
