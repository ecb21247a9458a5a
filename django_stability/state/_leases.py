"""Leases: at most ``limit`` holders of a key at once, each until its lease expires (see ``docs/shared-state.rst``).

A lease set is a Redis sorted set, holder -> expiry (ms on the callers' clock);
in process memory, a dict of the same. A holder that dies without releasing
frees its place when its lease expires, without anyone noticing it died.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from django_stability.state._builtin import _ms
from django_stability.state._memory import MemoryStore
from django_stability.state._ops import Arg, Operation

R = TypeVar("R")


def live_leases(store: MemoryStore, key: str, now: int) -> dict[str, int]:
    """The leases at ``key`` not expired at ``now`` (ms), holder -> expiry."""
    leases = store.get(key)
    if not isinstance(leases, dict):
        return {}
    return {holder: expiry for holder, expiry in leases.items() if expiry > now}


_ACQUIRE_LUA = """
local now, limit, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


def _acquire_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    now, limit, ttl = int(args[0]), int(args[1]), int(args[2])
    leases = live_leases(store, keys[0], now)
    if len(leases) >= limit:
        store.set(keys[0], leases, ttl_ms=ttl)
        return 0
    leases[args[3]] = now + ttl
    store.set(keys[0], leases, ttl_ms=ttl)
    return 1


_RENEW_LUA = """
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _renew_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    now, ttl = int(args[0]), int(args[1])
    leases = live_leases(store, keys[0], now)
    leases[args[2]] = now + ttl
    store.set(keys[0], leases, ttl_ms=ttl)
    return 1


_RELEASE_LUA = "return redis.call('ZREM', KEYS[1], ARGV[1])"


def _release_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    leases = store.get(keys[0])
    if isinstance(leases, dict) and leases.pop(args[0], None) is not None:
        return 1
    return 0


#: ``keys=[key]``, ``args=[now_ms, limit, ttl_ms, holder]``: whether ``holder`` got a lease.
ACQUIRE: Operation[bool] = Operation(
    "lease_acquire", _ACQUIRE_LUA, _acquire_local, bool
)
#: ``keys=[key]``, ``args=[now_ms, ttl_ms, holder]``: ``holder``'s lease now ends ``ttl_ms`` later.
RENEW: Operation[int] = Operation("lease_renew", _RENEW_LUA, _renew_local)
#: ``keys=[key]``, ``args=[holder]``: frees ``holder``'s lease now; whether it held one.
RELEASE: Operation[bool] = Operation(
    "lease_release", _RELEASE_LUA, _release_local, bool
)


def _holder(holder: str) -> str:
    if type(holder) is not str or not holder:
        raise TypeError(f"holder must be a non-empty str, not {holder!r}")
    return holder


def _acquire_args(holder: str, limit: int, ttl: float, now: float) -> list[Arg]:
    if type(limit) is not int or limit < 1:
        raise TypeError(f"limit must be an int of at least 1, not {limit!r}")
    return [_ms(now, "now"), limit, _ms(ttl, "ttl", positive=True), _holder(holder)]


def _renew_args(holder: str, ttl: float, now: float) -> list[Arg]:
    return [_ms(now, "now"), _ms(ttl, "ttl", positive=True), _holder(holder)]


class LeaseOps:
    """The lease operations as typed methods of :class:`Engine`.

    ``now`` is the callers' shared clock in seconds (wall-clock time, since
    several processes compare it), ``ttl`` seconds.
    """

    if TYPE_CHECKING:

        def run(
            self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()
        ) -> R: ...

        async def arun(
            self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()
        ) -> R: ...

    def acquire_lease(
        self, key: str, holder: str, *, limit: int, ttl: float, now: float
    ) -> bool:
        """Give ``holder`` one of the ``limit`` leases of ``key`` until ``now + ttl``; ``False`` when all are taken."""
        return self.run(ACQUIRE, [key], _acquire_args(holder, limit, ttl, now))

    async def aacquire_lease(
        self, key: str, holder: str, *, limit: int, ttl: float, now: float
    ) -> bool:
        """The async twin of :meth:`acquire_lease`."""
        return await self.arun(ACQUIRE, [key], _acquire_args(holder, limit, ttl, now))

    def renew_lease(self, key: str, holder: str, *, ttl: float, now: float) -> None:
        """Extend ``holder``'s lease to ``now + ttl`` (taking it again if it had expired)."""
        self.run(RENEW, [key], _renew_args(holder, ttl, now))

    async def arenew_lease(
        self, key: str, holder: str, *, ttl: float, now: float
    ) -> None:
        """The async twin of :meth:`renew_lease`."""
        await self.arun(RENEW, [key], _renew_args(holder, ttl, now))

    def release_lease(self, key: str, holder: str) -> bool:
        """Free ``holder``'s lease now; ``False`` if it held none (released, or expired and taken)."""
        return self.run(RELEASE, [key], [_holder(holder)])

    async def arelease_lease(self, key: str, holder: str) -> bool:
        """The async twin of :meth:`release_lease`."""
        return await self.arun(RELEASE, [key], [_holder(holder)])
