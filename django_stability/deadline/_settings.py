"""``STABILITY_DEADLINES`` and the deadline header, each parsed once, here."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

from django.core.exceptions import ImproperlyConfigured

from django_stability.checks._base import kind, show
from django_stability.conf import Settings, cached_on_settings, conf

SETTING = Settings.deadlines.setting_name

#: The request header a trusted proxy sends the time the request may still take, in seconds.
HEADER: Final = "X-Request-Timeout"
_HEADER_VALUE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")


class Deadlines:
    """Path prefix -> seconds; the longest prefix matching a path gives its budget."""

    __slots__ = ("entries",)

    def __init__(self, entries: Mapping[str, float]) -> None:
        # Longest first: a more specific route's budget wins over its parent's.
        self.entries = tuple(sorted(entries.items(), key=lambda e: -len(e[0])))

    def __call__(self, path: str) -> float | None:
        """The budget of ``path``, or ``None`` when no prefix matches."""
        for prefix, seconds in self.entries:
            if path.startswith(prefix):
                return seconds
        return None


def seconds_problem(value: Any) -> str | None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        return None
    return f"must be a positive number of seconds, not {kind(value)}"


def problems(value: Any) -> list[tuple[str, str]]:
    """``(where, problem)`` for everything wrong with a ``STABILITY_DEADLINES`` value."""
    if not isinstance(value, Mapping):
        return [("", f"must be a dict of path prefix -> seconds, not {kind(value)}")]
    found = []
    for prefix, seconds in value.items():
        if not (isinstance(prefix, str) and prefix.startswith("/")):
            found.append(
                (
                    "",
                    f"has a key that is not a path prefix starting with '/': {kind(prefix)}",
                )
            )
        elif (problem := seconds_problem(seconds)) is not None:
            found.append((f"[{show(prefix)}]", problem))
    return found


def parse(value: Any, what: str = SETTING) -> Deadlines:
    """``value`` as :class:`Deadlines`, or ``ImproperlyConfigured`` naming the first problem."""
    for where, problem in problems(value):
        raise ImproperlyConfigured(f"{what}{where} {problem}.")
    return Deadlines(value)


@cached_on_settings
def configured() -> Deadlines:
    """``STABILITY_DEADLINES`` parsed, until the settings change."""
    return parse(conf.deadlines)


def parse_header(value: str) -> float | None:
    """The seconds a deadline header gives, or ``None`` when malformed (not 1-6 digits, up to 3 decimals, above 0)."""
    if not _HEADER_VALUE.fullmatch(value):
        return None
    seconds = float(value)
    return seconds if seconds > 0 else None
