"""Counting and answering for rate limits, shared by the middleware and the decorator.

One hit is one :meth:`~django_stability.state.Engine.incr` on the shared-state
engine: a single atomic Redis round trip (a Lua script), or an in-process
count in memory mode. While the engine is degraded (Redis configured but
unreachable) its counts are process-local; :func:`decide` then either lets
that local count stand (fail open) or refuses the request (fail closed).

Counts use wall-clock time (``time.time``): windows must line up across
processes and hosts, which a monotonic clock does not do.

A client refused once stays refused until its window ends, in every window
kind the engine counts (fixed windows: a count only grows until the window
ends). So each process remembers, per engine, the counters it has seen over
their limit and when their window ends, and answers their further hits
without a round trip: a client hammering past its limit costs Redis one
command per process per window, not one per request.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from django.http import HttpResponse

from django_stability import metrics
from django_stability._rates import Rate
from django_stability.conf import on_setting_changed
from django_stability.errors import problem_response
from django_stability.logging import get_logger
from django_stability.state import Engine

__all__ = [
    "Exempt",
    "Usage",
    "ahit",
    "counter_key",
    "hit",
    "ip_value",
    "over_limit_until",
    "refusal",
    "usage_headers",
    "wall_clock",
]

_log = get_logger("django_stability.ratelimit")

#: Seconds between two "counting locally" log lines of one process during an outage.
OUTAGE_LOG_INTERVAL: Final = 60.0
#: Retry-After of a fail-closed 503 when the engine cannot say when it retries.
DEFAULT_RETRY_AFTER: Final = 1


@dataclass(frozen=True, slots=True)
class Usage:
    """One counted hit against a limit.

    Attributes:
        limit: Hits allowed per window.
        hits: Hits in the current window, this one included.
        reset_in: Seconds until the window ends.
        shared: ``False`` when the count is process-local (Redis unreachable).

    .. versionadded:: 0.1
    """

    limit: int
    hits: int
    reset_in: float
    shared: bool = True

    @property
    def limited(self) -> bool:
        """Whether this hit is over the limit."""
        return self.hits > self.limit

    @property
    def remaining(self) -> int:
        """Hits left in the window (never negative)."""
        return max(0, self.limit - self.hits)

    @property
    def reset(self) -> int:
        """Whole seconds until the window ends, rounded up (at least 1)."""
        return max(1, math.ceil(self.reset_in))


class _OutageLog:
    """Logs at most one line per interval and process while counts are local.

    Once per outage would be quieter, but a process that only serves limited
    requests now and then would then never say the outage is still going on.
    """

    def __init__(self) -> None:
        self.last = -math.inf

    def __call__(self, fail_open: bool, clock: Callable[[], float]) -> None:
        now = clock()
        if now - self.last < OUTAGE_LOG_INTERVAL:
            return
        self.last = now
        if fail_open:
            _log.warning(
                "ratelimit_degraded",
                fail_open=True,
                detail="shared state unavailable: rate limits count in each process only",
            )
        else:
            _log.error(
                "ratelimit_degraded",
                fail_open=False,
                detail="shared state unavailable: limited requests are refused with 503",
            )

    def reset(self) -> None:
        self.last = -math.inf


outage_log = _OutageLog()
# A new configuration (override_settings, a new engine) deserves its own first line.
on_setting_changed(outage_log.reset)


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


def counter_key(group: str, rate: Rate, value: str) -> str:
    """The engine key of one client's counter; the rate is part of it, so a new rate starts afresh."""
    return f"rl:{group}:{rate.count}/{rate.seconds}:{value}"


#: Global unicast IPv6, where one host (one customer) usually holds a whole /64.
_GLOBAL_UNICAST: Final = ipaddress.IPv6Network("2000::/3")
#: Teredo puts the client's identity in the low 64 bits: its /64 is the relay's, shared.
_TEREDO: Final = ipaddress.IPv6Network("2001::/32")


def ip_value(address: str) -> str:
    """The counted form of a client address.

    IPv4 as is; IPv4-mapped IPv6 (``::ffff:192.0.2.1``, from dual-stack
    listeners) as its IPv4 address; global unicast IPv6 (``2000::/3``, Teredo
    excepted) masked to its /64, as one host usually holds a whole /64; every
    other IPv6 address (loopback, link-local, unique-local, Teredo, ...) in
    full, as a /64 there is shared by many hosts. Anything else is kept as is
    (``"unknown"`` when empty).
    """
    if ":" not in address:
        return address or "unknown"
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    if parsed in _GLOBAL_UNICAST and parsed not in _TEREDO:
        return str(ipaddress.IPv6Network((int(parsed), 64), strict=False))
    return str(parsed)


#: Most counters one process remembers as over their limit, per engine.
MAX_REMEMBERED: Final = 10_000


class _OverLimit:
    """Counters known to be over their limit, with the end of their window (one engine's)."""

    def __init__(self) -> None:
        self._ends: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> float | None:
        end = self._ends.get(key)
        return end if end is not None and now < end else None

    def remember(self, key: str, end: float, now: float) -> None:
        with self._lock:
            ends = self._ends
            if len(ends) >= MAX_REMEMBERED:
                for old in [k for k, e in ends.items() if e <= now]:
                    del ends[old]
                while len(ends) >= MAX_REMEMBERED:  # still full: forget the oldest
                    del ends[next(iter(ends))]
            ends[key] = end


_over_limit: weakref.WeakKeyDictionary[Engine, _OverLimit] = weakref.WeakKeyDictionary()
_over_limit_lock = threading.Lock()


def _known(engine: Engine) -> _OverLimit:
    known = _over_limit.get(engine)
    if known is None:
        with _over_limit_lock:
            known = _over_limit.setdefault(engine, _OverLimit())
    return known


def over_limit_until(engine: Engine, key: str, now: float) -> float | None:
    """When the window of ``key`` ends, if this process knows it is over its limit; else ``None``.

    Costs no round trip: it reads what :func:`hit` remembered.
    """
    return _known(engine).get(key, now)


def _counted(
    known: _OverLimit,
    engine: Engine,
    rate: Rate,
    key: str,
    now: float,
    reply: tuple[int, float],
) -> Usage:
    hits, reset_in = reply
    usage = Usage(rate.count, hits, reset_in, shared=engine.healthy)
    if usage.limited and usage.shared:
        known.remember(key, now + reset_in, now)
    return usage


def hit(engine: Engine, rate: Rate, key: str, now: float) -> Usage:
    """Count one hit on ``key``: one atomic engine round trip, none once it is known over the limit."""
    known = _known(engine)
    if (end := known.get(key, now)) is not None:
        return Usage(rate.count, rate.count + 1, end - now)
    return _counted(
        known, engine, rate, key, now, engine.incr(key, now=now, window=rate.seconds)
    )


async def ahit(engine: Engine, rate: Rate, key: str, now: float) -> Usage:
    """The async twin of :func:`hit`."""
    known = _known(engine)
    if (end := known.get(key, now)) is not None:
        return Usage(rate.count, rate.count + 1, end - now)
    reply = await engine.aincr(key, now=now, window=rate.seconds)
    return _counted(known, engine, rate, key, now, reply)


def refusal(
    engine: Engine, usage: Usage, rate: Rate, group: str, *, fail_open: bool
) -> HttpResponse | None:
    """The response refusing this hit, or ``None`` to let it through.

    Over the limit: 429. Counted locally because Redis is unreachable: the
    local count decides when failing open, a 503 when failing closed; both log.
    """
    if not usage.shared:
        outage_log(fail_open, time.monotonic)
        if not fail_open:
            return degraded_response(engine, group)
    if usage.limited:
        return limited_response(usage, rate, group)
    return None


def usage_headers(usage: Usage) -> dict[str, str]:
    """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``."""
    return {
        "RateLimit-Limit": str(usage.limit),
        "RateLimit-Remaining": str(usage.remaining),
        "RateLimit-Reset": str(usage.reset),
    }


def limited_response(usage: Usage, rate: Rate, group: str) -> HttpResponse:
    """The 429 problem response, with ``Retry-After`` and the ``RateLimit-*`` headers."""
    metrics.ratelimited.labels(group, "limited").inc()
    per = "second" if rate.seconds == 1 else f"{rate.seconds} seconds"
    return problem_response(
        429,
        detail=f"Too many requests: at most {rate.count} per {per}; "
        f"retry in {usage.reset} s.",
        retry_after=usage.reset,
        headers=usage_headers(usage),
    )


def degraded_response(engine: Engine, group: str) -> HttpResponse:
    """The fail-closed 503 problem response, retried when the engine next tries Redis."""
    metrics.ratelimited.labels(group, "unavailable").inc()
    retry_in = engine.status().retry_in
    return problem_response(
        503,
        code="ratelimit_unavailable",
        detail="Rate limits cannot be checked right now; retry later.",
        retry_after=max(DEFAULT_RETRY_AFTER, math.ceil(retry_in or 0)),
    )


def wall_clock() -> float:
    """Seconds since the epoch: the clock every process agrees on."""
    return time.time()
