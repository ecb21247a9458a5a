"""The retry budget: calls and retries per name, counted by every worker in one shared record.

A retry is granted while the retries of the current window stay within
``max(min_retries, floor(budget * calls))``. Calls are counted by each process
and sent with its next round trip (a retry to ask for, or every tenth of a
window), so a call that succeeds costs no round trip; a count not sent yet
only makes the budget smaller than it could be, never larger.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import NamedTuple

from django_stability.state import Arg, Engine, MemoryStore, Operation


class Spent(NamedTuple):
    """The shared record after a round trip.

    Attributes:
        granted: Whether the retry asked for was granted.
        calls: Calls counted in the current window, by every worker.
        retries: Retries granted in the current window, by every worker.
    """

    granted: bool
    calls: int
    retries: int


def allowed(calls: int, budget: float, minimum: int) -> int:
    """The retries ``calls`` earn: ``floor(budget * calls)``, at least ``minimum``."""
    # The epsilon keeps 0.1 * 30 (2.9999...) from earning 2; Lua computes the same.
    return max(minimum, math.floor(calls * budget + 1e-9))


_SPEND_LUA = """
local now, window, calls = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local budget, minimum = tonumber(ARGV[5]), tonumber(ARGV[6])
local rec = redis.call('HMGET', KEYS[1], 'c', 'r', 'e')
local c, r, e = tonumber(rec[1]) or 0, tonumber(rec[2]) or 0, tonumber(rec[3])
if not e or now >= e then
  c, r, e = 0, 0, now + window
end
c = c + calls
local granted = 0
if ARGV[4] == '1' and r < math.max(minimum, math.floor(c * budget + 1e-9)) then
  r = r + 1
  granted = 1
end
redis.call('HSET', KEYS[1], 'c', c, 'r', r, 'e', e)
redis.call('PEXPIRE', KEYS[1], e - now)
return {granted, c, r}
"""


def _spend_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[int]:
    now, window, calls = int(args[0]), int(args[1]), int(args[2])
    budget, minimum = float(args[4]), int(args[5])
    record = store.get(keys[0])
    if not isinstance(record, dict) or now >= record["e"]:
        record = {"c": 0, "r": 0, "e": now + window}
    record["c"] += calls
    granted = 0
    if args[3] == "1" and record["r"] < allowed(record["c"], budget, minimum):
        record["r"] += 1
        granted = 1
    store.set(keys[0], record, ttl_ms=record["e"] - now)
    return [granted, record["c"], record["r"]]


def _spent(reply: list[int]) -> Spent:
    return Spent(bool(reply[0]), reply[1], reply[2])


#: ``keys=[key]``, ``args=[now_ms, window_ms, calls, "1" to ask for a retry or "0",
#: budget, min_retries]``: count ``calls``, maybe grant one retry.
SPEND: Operation[Spent] = Operation("retry-spend", _SPEND_LUA, _spend_local, _spent)


def key(name: str) -> str:
    """The engine key of the shared record of retry ``name``."""
    return f"retry:{name}"


def spend_args(
    now: float, window: float, calls: int, want: bool, budget: float, minimum: int
) -> list[Arg]:
    """``SPEND``'s arguments; times in seconds."""
    return [
        round(now * 1000),
        max(1, round(window * 1000)),
        calls,
        "1" if want else "0",
        float(budget),
        minimum,
    ]


class Tally:
    """Calls this process made under one name that the shared record has not counted yet."""

    __slots__ = ("_lock", "pending", "sent_at")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending = 0
        self.sent_at = -math.inf

    def add(self) -> None:
        with self._lock:
            self.pending += 1

    def due(self, now: float, window: float) -> bool:
        """Whether the pending calls have waited a tenth of a window: time to send them alone."""
        return self.pending > 0 and now - self.sent_at >= window / 10

    def take(self, now: float) -> int:
        """The pending calls, now counted as sent."""
        with self._lock:
            taken, self.pending, self.sent_at = self.pending, 0, now
        return taken

    def give_back(self, calls: int) -> None:
        """Calls a failed round trip did not deliver, to send with the next one."""
        with self._lock:
            self.pending += calls


_tallies: weakref.WeakKeyDictionary[Engine, dict[str, Tally]] = (
    weakref.WeakKeyDictionary()
)
_tallies_lock = threading.Lock()


def tally(engine: Engine, name: str) -> Tally:
    """This process's tally of retry ``name`` on ``engine``."""
    by_name = _tallies.get(engine)
    if by_name is None:
        with _tallies_lock:
            by_name = _tallies.setdefault(engine, {})
    found = by_name.get(name)
    if found is None:
        with _tallies_lock:
            found = by_name.setdefault(name, Tally())
    return found
