"""The built-in operations: a value with an expiry, deletion, a fixed-window counter (see ``docs/shared-state.rst``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from django_stability.state._memory import MemoryStore
from django_stability.state._ops import Arg, Operation

R = TypeVar("R")


class WindowCount(NamedTuple):
    """A fixed-window counter after an increment.

    Attributes:
        hits: Hits in the current window, this one included.
        reset_in: Seconds until the window ends and the count restarts.

    .. versionadded:: 0.1
    """

    hits: int
    reset_in: float


def _ms(value: float, name: str, *, positive: bool = False) -> int:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number of seconds, not {value!r}")
    ms = round(value * 1000)
    if positive and ms <= 0:
        raise ValueError(f"{name} must be at least 0.001 seconds, not {value!r}")
    return ms


def _record(store: MemoryStore, key: str) -> dict[str, Any] | None:
    value = store.get(key)
    return value if isinstance(value, dict) else None


_GET_LUA = """
local rec = redis.call('HMGET', KEYS[1], 'v', 'x')
if not rec[1] then return nil end
if rec[2] and tonumber(ARGV[1]) >= tonumber(rec[2]) then return nil end
return rec[1]
"""


def _get_local(store: MemoryStore, keys: list[str], args: list[str]) -> str | None:
    rec = _record(store, keys[0])
    if rec is None or "v" not in rec:
        return None
    if "x" in rec and int(args[0]) >= rec["x"]:
        return None
    return rec["v"]  # type: ignore[no-any-return]


_SET_LUA = """
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[4] == '1' then
  local rec = redis.call('HMGET', KEYS[1], 'v', 'x')
  if rec[1] and (not rec[2] or tonumber(rec[2]) > now) then return 0 end
end
redis.call('DEL', KEYS[1])
if ttl > 0 then
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 'x', now + ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('HSET', KEYS[1], 'v', ARGV[3])
end
return 1
"""


def _set_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    now, ttl = int(args[0]), int(args[1])
    if args[3] == "1":
        rec = _record(store, keys[0])
        if rec is not None and "v" in rec and ("x" not in rec or rec["x"] > now):
            return 0
    if ttl > 0:
        store.set(keys[0], {"v": args[2], "x": now + ttl}, ttl_ms=ttl)
    else:
        store.set(keys[0], {"v": args[2]})
    return 1


_DELETE_LUA = "redis.call('DEL', unpack(KEYS))"


def _delete_local(store: MemoryStore, keys: list[str], args: list[str]) -> None:
    store.delete(keys)


_INCR_LUA = """
local now, window, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reset = tonumber(redis.call('HGET', KEYS[1], 'r'))
local count
if not reset or now >= reset then
  reset = now + window
  count = amount
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'c', count, 'r', reset)
else
  count = redis.call('HINCRBY', KEYS[1], 'c', amount)
end
local left = math.min(reset - now, window)
redis.call('PEXPIRE', KEYS[1], left)
return {count, left}
"""


def _incr_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[int]:
    now, window, amount = int(args[0]), int(args[1]), int(args[2])
    rec = _record(store, keys[0])
    reset = rec.get("r") if rec is not None else None
    if rec is None or reset is None or now >= reset:
        reset = now + window
        rec = {"c": amount, "r": reset}
        store.set(keys[0], rec)
    else:
        rec["c"] += amount
    left = min(reset - now, window)
    store.pexpire(keys[0], left)
    return [rec["c"], left]


def _window(reply: list[int]) -> WindowCount:
    return WindowCount(reply[0], reply[1] / 1000)


#: ``keys=[key]``, ``args=[now_ms]``: the value, or ``None`` when absent or expired.
GET: Operation[str | None] = Operation("get", _GET_LUA, _get_local)
#: ``keys=[key]``, ``args=[now_ms, ttl_ms or 0, value, "1" only-if-absent or "0"]``: stored?
SET: Operation[bool] = Operation("set", _SET_LUA, _set_local, bool)
#: ``keys=[key, ...]``, ``args=[]``: removes the keys.
DELETE: Operation[None] = Operation("delete", _DELETE_LUA, _delete_local)
#: ``keys=[key]``, ``args=[now_ms, window_ms, amount]``: fixed-window count and time left.
INCR: Operation[WindowCount] = Operation("incr", _INCR_LUA, _incr_local, _window)


def _set_args(
    value: str, now: float, ttl: float | None, only_if_absent: bool
) -> list[Arg]:
    if type(value) is not str:
        raise TypeError(f"value must be str, not {type(value).__name__}")
    ttl_ms = 0 if ttl is None else _ms(ttl, "ttl", positive=True)
    return [_ms(now, "now"), ttl_ms, value, "1" if only_if_absent else "0"]


def _delete_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    if not keys:
        raise TypeError("delete() needs at least one key")
    return keys


def _incr_args(now: float, window: float, amount: int) -> list[Arg]:
    if type(amount) is not int:
        raise TypeError(f"amount must be int, not {type(amount).__name__}")
    return [_ms(now, "now"), _ms(window, "window", positive=True), amount]


class BuiltinOps:
    """The built-in operations as typed methods of :class:`Engine`.

    ``now`` is the caller's clock, in seconds; ``ttl`` and ``window`` are seconds.
    """

    if TYPE_CHECKING:

        def run(
            self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()
        ) -> R: ...

        async def arun(
            self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()
        ) -> R: ...

    def get(self, key: str, *, now: float) -> str | None:
        """The value at ``key``; ``None`` if absent or expired at ``now``."""
        return self.run(GET, [key], [_ms(now, "now")])

    async def aget(self, key: str, *, now: float) -> str | None:
        """The async twin of :meth:`get`."""
        return await self.arun(GET, [key], [_ms(now, "now")])

    def set(
        self,
        key: str,
        value: str,
        *,
        now: float,
        ttl: float | None = None,
        only_if_absent: bool = False,
    ) -> bool:
        """Store ``value`` until ``now + ttl`` (forever if ``None``).

        Returns ``False`` (and stores nothing) when ``only_if_absent`` and a
        live value is present: a lock.
        """
        return self.run(SET, [key], _set_args(value, now, ttl, only_if_absent))

    async def aset(
        self,
        key: str,
        value: str,
        *,
        now: float,
        ttl: float | None = None,
        only_if_absent: bool = False,
    ) -> bool:
        """The async twin of :meth:`set`."""
        return await self.arun(SET, [key], _set_args(value, now, ttl, only_if_absent))

    def delete(self, *keys: str) -> None:
        """Remove ``keys``; missing keys are fine."""
        self.run(DELETE, _delete_keys(keys))

    async def adelete(self, *keys: str) -> None:
        """The async twin of :meth:`delete`."""
        await self.arun(DELETE, _delete_keys(keys))

    def incr(
        self, key: str, *, now: float, window: float, amount: int = 1
    ) -> WindowCount:
        """Count ``amount`` hits in the fixed window of ``window`` seconds opened by ``key``'s first hit."""
        return self.run(INCR, [key], _incr_args(now, window, amount))

    async def aincr(
        self, key: str, *, now: float, window: float, amount: int = 1
    ) -> WindowCount:
        """The async twin of :meth:`incr`."""
        return await self.arun(INCR, [key], _incr_args(now, window, amount))
