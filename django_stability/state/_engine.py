"""The engine: runs operations on Redis, or in process memory, degrading on outages."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured

from django_stability.conf import conf
from django_stability.runtime import runtime
from django_stability.state._availability import Attempt, Availability, describe
from django_stability.state._builtin import BuiltinOps
from django_stability.state._leases import LeaseOps
from django_stability.state._memory import MemoryStore
from django_stability.state._ops import Arg, Operation, check_keys, encode_args

if TYPE_CHECKING:
    import redis
    import redis.asyncio

    from django_stability.state._redis import RedisBackend

R = TypeVar("R")
Mode = Literal["redis", "memory", "degraded"]


class StateUnavailable(Exception):
    """Redis did not answer a :meth:`Engine.ping`, or an operation built with ``fallback=False``.

    .. versionadded:: 0.1
    """


@dataclass(frozen=True)
class EngineStatus:
    """What a health check or an operator wants to know about the engine.

    Attributes:
        mode: ``"redis"``, ``"memory"`` (no URL configured) or ``"degraded"``.
        healthy: ``False`` only while degraded.
        url: The Redis URL without its password; ``None`` in memory mode.
        error: The last outage error, ``"Type: message"``.
        down_for: Seconds since the outage began, while degraded.
        retry_in: Seconds until Redis is tried again, while degraded.

    .. versionadded:: 0.1
    """

    mode: Mode
    healthy: bool
    url: str | None
    error: str | None
    down_for: float | None
    retry_in: float | None


class Engine(BuiltinOps, LeaseOps):
    """Shared state for every worker process: Redis when configured, else process memory.

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL; ``None`` keeps
            everything in this process. Query-string options of the URL
            (``socket_timeout``, ``socket_connect_timeout``, ``max_connections``,
            ``timeout``) override the arguments below.
        clock: Monotonic seconds, for memory expiry and the retry backoff.
        key_prefix: Prepended to every key sent to Redis.
        connect_timeout: Seconds to open a connection.
        timeout: Seconds to wait for a reply.
        max_connections: Per pool: the sync pool, and each event loop's pool.
        pool_timeout: Seconds a caller waits for a free pooled connection.
        retry_after: First delay before retrying Redis after an outage; doubles
            on each failed retry up to ``max_retry_after``.
        max_retry_after: Longest delay between two retries.

    Raises:
        ImproperlyConfigured: ``url`` is not a Redis URL, or redis-py (the
            ``[redis]`` extra) is not installed.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        key_prefix: str = "stability:",
        connect_timeout: float = 0.5,
        timeout: float = 0.5,
        max_connections: int = 50,
        pool_timeout: float = 2.0,
        retry_after: float = 1.0,
        max_retry_after: float = 30.0,
    ) -> None:
        self.clock = clock
        self.key_prefix = key_prefix
        self._redis: RedisBackend | None = None
        # What counts as an outage, and as any other Redis error; empty (so
        # nothing matches) in memory mode, where redis-py need not be installed.
        outages: tuple[type[Exception], ...] = ()
        errors: tuple[type[Exception], ...] = ()
        if url:
            try:
                from django_stability.state import _redis
            except ImportError as exc:  # the [redis] extra is not installed
                raise ImproperlyConfigured(
                    "STABILITY_REDIS_URL is set but redis-py is not installed: "
                    'pip install "django-stability[redis]"'
                ) from exc
            self._redis = _redis.RedisBackend(
                url,
                connect_timeout=connect_timeout,
                timeout=timeout,
                max_connections=max_connections,
                pool_timeout=pool_timeout,
            )
            outages, errors = _redis.OUTAGE_ERRORS, (_redis.RedisError,)
        # Memory mode's store, or the process-local fallback while degraded.
        self.memory = MemoryStore(clock)
        self._availability = Availability(
            clock=clock,
            retry_after=retry_after,
            max_retry_after=max_retry_after,
            target=self._redis.url if self._redis else "",
            on_recover=self.memory.flush,
            outages=outages,
            errors=errors,
        )

    @property
    def mode(self) -> Mode:
        """``"redis"``, ``"memory"`` or ``"degraded"`` (Redis configured but unreachable)."""
        if self._redis is None:
            return "memory"
        return "degraded" if self._availability.down else "redis"

    @property
    def healthy(self) -> bool:
        """``False`` while degraded: state is then process-local."""
        return not self._availability.down

    def status(self) -> EngineStatus:
        """A snapshot for health checks and operators."""
        avail = self._availability
        down = avail.down
        now = self.clock()
        return EngineStatus(
            mode=self.mode,
            healthy=not down,
            url=self._redis.url if self._redis else None,
            error=avail.error if down else None,
            down_for=now - avail.since if down else None,
            retry_in=max(0.0, avail.retry_at - now) if down else None,
        )

    def run(self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()) -> R:
        """Run ``op`` atomically on ``keys`` with ``args``; an outage falls back to memory.

        Raises:
            StateUnavailable: Redis is unreachable and ``op`` has no fallback
                (``Operation(..., fallback=False)``).
            TypeError: ``keys`` or ``args`` hold values an operation cannot take.
            redis.exceptions.ResponseError: the Lua script failed (a bug, not an outage).
        """
        keys, encoded = check_keys(keys), encode_args(args)
        if (admitted := self._admit()) is None:
            return self._local(op, keys, encoded)
        backend, probe = admitted
        with Attempt(self._availability, probe) as attempt:
            attempt.reply = backend.run(op, self._prefixed(keys), encoded)
        return self._answer(op, keys, encoded, attempt)

    async def arun(
        self, op: Operation[R], keys: Sequence[str], args: Sequence[Arg] = ()
    ) -> R:
        """The async twin of :meth:`run`; memory operations run inline, without a thread."""
        keys, encoded = check_keys(keys), encode_args(args)
        if (admitted := self._admit()) is None:
            return self._local(op, keys, encoded)
        backend, probe = admitted
        with Attempt(self._availability, probe) as attempt:
            attempt.reply = await backend.arun(op, self._prefixed(keys), encoded)
        return self._answer(op, keys, encoded, attempt)

    def _admit(self) -> tuple[RedisBackend, bool] | None:
        """The backend and whether this call is the outage probe, or ``None`` when memory answers."""
        if self._redis is None or (probe := self._availability.admit()) is None:
            return None
        return self._redis, probe

    def _prefixed(self, keys: list[str]) -> list[str]:
        return [self.key_prefix + key for key in keys]

    def _answer(
        self, op: Operation[R], keys: list[str], encoded: list[str], attempt: Attempt
    ) -> R:
        if attempt.error is None:
            return op.decode(attempt.reply)
        return self._local(op, keys, encoded, attempt.error)

    def _local(
        self,
        op: Operation[R],
        keys: list[str],
        encoded: list[str],
        cause: BaseException | None = None,
    ) -> R:
        """What answers when Redis did not: process memory, unless ``op`` has no fallback."""
        if self._redis is not None and not op.fallback:
            error = self._availability.error or "not retried yet"
            raise StateUnavailable(
                f"shared-state Redis is unreachable ({error}); {op.name} has no process-local fallback"
            ) from cause
        return op.decode(self.memory.run(op, keys, encoded))

    def ping(self) -> float:
        """Round-trip Redis now, whatever the backoff; return the seconds it took.

        A success ends an outage and a failure starts one, so a health probe
        doubles as the engine's retry. In memory mode this returns ``0.0``.

        Raises:
            StateUnavailable: Redis did not answer.
        """
        if self._redis is None:
            return 0.0
        start = time.perf_counter()
        with self._pinging() as attempt:
            self._redis.sync.ping()
        return _pinged(attempt, start)

    async def aping(self) -> float:
        """The async twin of :meth:`ping`."""
        if self._redis is None:
            return 0.0
        start = time.perf_counter()
        with self._pinging() as attempt:
            await (await self._redis.aclient()).ping()
        return _pinged(attempt, start)

    def _pinging(self) -> Attempt:
        return Attempt(self._availability, bool(self._availability.admit(force=True)))

    def redis_client(self) -> redis.Redis | None:
        """The raw sync client (``None`` in memory mode); outages are then yours to handle."""
        return self._redis.sync if self._redis else None

    async def aredis_client(self) -> redis.asyncio.Redis | None:
        """The raw async client of the running event loop (``None`` in memory mode)."""
        return await self._redis.aclient() if self._redis else None

    def close(self) -> None:
        """Close the sync connections; they reopen if the engine is used again."""
        if self._redis is not None:
            self._redis.close()

    async def aclose(self) -> None:
        """Close this event loop's connections now rather than when the loop shuts down."""
        if self._redis is not None:
            await self._redis.aclose()


def _pinged(attempt: Attempt, start: float) -> float:
    if attempt.error is not None:
        raise StateUnavailable(describe(attempt.error)) from attempt.error
    return time.perf_counter() - start


def get_engine() -> Engine:
    """The process's engine for ``STABILITY_REDIS_URL``, built once (again after a settings change).

    .. versionadded:: 0.1
    """
    return runtime.get("state.engine", _build, _dispose)


def _build() -> Engine:
    return Engine(conf.redis_url or None)


def _dispose(engine: Engine) -> None:
    """Close every connection of ``engine``, its event loops' clients too."""
    if engine._redis is not None:
        engine._redis.close(every_loop=True)
