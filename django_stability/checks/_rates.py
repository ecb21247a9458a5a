"""Rate strings such as ``"100/s"`` or ``"5/10m"``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django_stability.checks._base import kind

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}

_RATE = re.compile(r"(?P<count>[0-9]+)/(?P<multiplier>[0-9]*)(?P<unit>[smhd]?)")

_EXPECTED = 'expected "N/u" or "N/Mu" with u one of s, m, h, d (for example "100/s", "5/10m" or "1000/h")'


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` events per ``seconds`` seconds.

    django-ratelimit takes it as ``rate=(rate.count, rate.seconds)``.
    """

    count: int
    seconds: int


def parse_rate(rate: str) -> Rate:
    """Parse a rate string into a :class:`Rate`.

    Args:
        rate: ``"N/u"`` or ``"N/Mu"`` (``u`` in ``s``, ``m``, ``h``, ``d``), or
            ``"N/S"`` with ``S`` a number of seconds.

    Raises:
        TypeError: ``rate`` is not a string.
        ValueError: ``rate`` does not follow the grammar, or its count or
            period is zero. The message quotes the rate and the grammar.
    """
    if not isinstance(rate, str):
        raise TypeError(
            f"a rate must be a string such as '100/s', not {type(rate).__name__}"
        )
    match = _RATE.fullmatch(rate)
    if match is None or not (match["multiplier"] or match["unit"]):
        raise ValueError(f"invalid rate {rate!r}: {_EXPECTED}")
    count = int(match["count"])
    multiplier = int(match["multiplier"] or "1")
    if count == 0:
        raise ValueError(
            f"invalid rate {rate!r}: the count must be at least 1 (use None to disable a limit)"
        )
    if multiplier == 0:
        raise ValueError(
            f"invalid rate {rate!r}: the period must be at least 1 {match['unit'] or 's'}"
        )
    return Rate(count, multiplier * UNITS[match["unit"] or "s"])


def rate_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a rate string, for a system check; ``None``: nothing."""
    if not isinstance(value, str):
        return f"must be a rate string such as '100/s', not {kind(value)}"
    try:
        parse_rate(value)
    except ValueError as exc:
        return f"is an {exc}"
    return None
