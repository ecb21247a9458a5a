"""The global-limit settings, each parsed once, here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from django.core.exceptions import ImproperlyConfigured

from django_stability.checks._rates import Rate, parse_rate
from django_stability.conf import Settings, cached_on_settings, conf

#: What a prefix list and each of its items must be, as the messages say it.
PREFIX_LIST: Final = "must be a list of path prefixes"
PREFIX: Final = "must be a path prefix starting with '/'"
#: What ``STABILITY_RATELIMIT_FAIL_OPEN`` must be.
BOOL: Final = "must be True or False"


class Exempt:
    """``STABILITY_RATELIMIT_EXEMPT`` matched on path-segment boundaries.

    An entry ending in ``/`` exempts every path starting with it. An entry
    without one exempts that exact path and the paths under it:
    ``"/stability/metrics"`` exempts ``/stability/metrics`` and
    ``/stability/metrics/...``, never ``/stability/metricsX``.
    """

    __slots__ = ("entries", "exact", "prefixes")

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.entries = entries
        self.exact = frozenset(e for e in entries if not e.endswith("/"))
        self.prefixes = tuple(e if e.endswith("/") else f"{e}/" for e in entries)

    def __call__(self, path: str) -> bool:
        """Whether ``path`` is exempt."""
        return path in self.exact or path.startswith(self.prefixes)


#: ``(where, expected, found)``: ``where`` is ``""`` for the whole value or
#: ``"[i]"`` for an item, ``expected`` what it must be, ``found`` what it is.
Problem = tuple[str, str, object]


def exempt_problems(value: object) -> list[Problem]:
    """Every way ``value`` is not a list of path prefixes (none: it is one)."""
    if not isinstance(value, list | tuple):
        # A bare string is the classic mistake for a one-item list.
        return [("", PREFIX_LIST, value)]
    return [
        (f"[{index}]", PREFIX, item)
        for index, item in enumerate(value)
        if not (isinstance(item, str) and item.startswith("/"))
    ]


def parse_global_rate(value: object, what: str) -> Rate | None:
    """``None`` (no limit) or a rate string, parsed; ``what`` names it in the error."""
    if value is None:
        return None
    try:
        return parse_rate(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{what}: {exc}") from None


def parse_exempt(value: object, what: str) -> Exempt:
    """A list of path prefixes as an :class:`Exempt`; ``what`` names it in the error."""
    for where, expected, found in exempt_problems(value):
        raise ImproperlyConfigured(f"{what}{where} {expected}, not {found!r}.")
    return Exempt(tuple(value))  # type: ignore[arg-type]


def parse_fail_open(value: object, what: str) -> bool:
    """``True`` or ``False``, nothing merely truthy; ``what`` names it in the error."""
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{what} {BOOL}, not {value!r}.")
    return value


@cached_on_settings
def global_rate_setting() -> Rate | None:
    """``STABILITY_RATELIMIT``: the per-client-IP rate of the middleware, or ``None``."""
    return parse_global_rate(conf.ratelimit, Settings.ratelimit.setting_name)


@cached_on_settings
def exempt_setting() -> Exempt:
    """``STABILITY_RATELIMIT_EXEMPT``: the paths the middleware never limits."""
    value: Sequence[str] = conf.ratelimit_exempt
    return parse_exempt(value, Settings.ratelimit_exempt.setting_name)


@cached_on_settings
def fail_open_setting() -> bool:
    """``STABILITY_RATELIMIT_FAIL_OPEN``, for the middleware and the decorator alike."""
    return parse_fail_open(
        conf.ratelimit_fail_open, Settings.ratelimit_fail_open.setting_name
    )
