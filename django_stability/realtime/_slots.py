"""Per-user connection slots and connect rate, shared by every process, decided in one round trip.

A slot is a lease of the shared-state engine (``state/_leases.py``): claimed
here together with the connect rate, renewed and released with the engine's
lease operations.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

from django_stability.state import MemoryStore, Operation
from django_stability.state._leases import live_leases

#: A slot outlives its last renewal by this many heartbeat intervals.
SLOT_TTL_BEATS = 3


class Verdict(IntEnum):
    """The outcome of a connection attempt."""

    RATE_LIMITED = 0
    ADMITTED = 1
    FULL = 2


class Claim(NamedTuple):
    """A claim's verdict and, when rate limited, the seconds until the window ends."""

    verdict: Verdict
    retry_after: float


def slot_keys(user: str) -> list[str]:
    return [f"rt:slots:{user}", f"rt:rate:{user}"]


_CLAIM_LUA = """
local now, limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rate, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local reset = tonumber(redis.call('HGET', KEYS[2], 'r'))
local count
if not reset or now >= reset then
  reset = now + window
  count = 1
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'c', 1, 'r', reset)
else
  count = redis.call('HINCRBY', KEYS[2], 'c', 1)
end
redis.call('PEXPIRE', KEYS[2], math.min(reset - now, window))
if count > rate then return {0, math.min(reset - now, window)} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return {2, 0} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 0}
"""


def _claim_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[int]:
    now, limit, ttl = int(args[0]), int(args[1]), int(args[2])
    rate, window = int(args[4]), int(args[5])
    counter = store.get(keys[1])
    if not isinstance(counter, dict) or now >= counter["r"]:
        counter = {"c": 0, "r": now + window}
        store.set(keys[1], counter)
    counter["c"] += 1
    left = min(counter["r"] - now, window)
    store.pexpire(keys[1], left)
    if counter["c"] > rate:
        return [int(Verdict.RATE_LIMITED), left]
    slots = live_leases(store, keys[0], now)
    if len(slots) >= limit:
        store.set(keys[0], slots, ttl_ms=ttl)
        return [int(Verdict.FULL), 0]
    slots[args[3]] = now + ttl
    store.set(keys[0], slots, ttl_ms=ttl)
    return [int(Verdict.ADMITTED), 0]


def _claim(reply: list[Any]) -> Claim:
    return Claim(Verdict(int(reply[0])), int(reply[1]) / 1000)


#: ``keys=slot_keys(user)``, ``args=[now_ms, limit, ttl_ms, slot, rate_count, rate_window_ms]``.
CLAIM: Operation[Claim] = Operation("rt_claim", _CLAIM_LUA, _claim_local, _claim)
