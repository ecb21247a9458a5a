"""Counting hits, shared by the middleware, the decorator and the metrics-token guard."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Final

from django_stability.checks._rates import Rate
from django_stability.state import Engine


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


def wall_clock() -> float:
    """Seconds since the epoch: the clock every process agrees on."""
    return time.time()
