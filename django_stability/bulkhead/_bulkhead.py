"""The bulkhead: a bounded number of calls in progress per dependency, per process or across all of them."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Final, TypeVar, cast

from django_stability import metrics
from django_stability.bulkhead._local import LocalSlots
from django_stability.bulkhead._settings import BulkheadConfig, check_name, config_for
from django_stability.logging import get_logger
from django_stability.runtime import runtime
from django_stability.state import Engine, get_engine

F = TypeVar("F", bound=Callable[..., Any])

_log = get_logger("django_stability.bulkhead")

#: ``Retry-After`` of a refusal: places free up as calls end, so soon.
RETRY_AFTER: Final = 1
#: First and longest pause between two tries for a shared place, in seconds.
FIRST_PAUSE: Final = 0.01
MAX_PAUSE: Final = 0.1

# What this context holds, innermost last: (bulkhead, lease holder or None for a local place).
_held: ContextVar[tuple[tuple[Bulkhead, str | None], ...]] = ContextVar(
    "stability_bulkheads_held", default=()
)


class BulkheadFull(Exception):
    """A call was refused: the bulkhead had no free place within ``max_wait``.

    Under the API prefixes it becomes a 503 problem response with the code
    ``bulkhead_full`` and ``Retry-After``.

    Attributes:
        name: The bulkhead's name.
        retry_after: Seconds after which a retry may find a place.

    .. versionadded:: 0.1
    """

    def __init__(self, name: str, max_concurrent: int) -> None:
        self.name = name
        self.retry_after = RETRY_AFTER
        super().__init__(
            f"bulkhead {name!r} is full ({max_concurrent} calls in progress)"
        )


def pauses(clock: Callable[[], float], max_wait: float) -> Iterator[float]:
    """The pauses between tries for a shared place, growing, until ``max_wait`` has passed on ``clock``."""
    until = clock() + max_wait
    delay = FIRST_PAUSE
    while (left := until - clock()) > 0:
        yield min(delay, left)
        delay = min(delay * 2, MAX_PAUSE)


class Bulkhead:
    """At most ``max_concurrent`` calls of one dependency at once.

    Use it as a decorator of sync or async functions, or as a context
    manager (``with`` / ``async with``). A call that finds no place waits up
    to ``max_wait`` seconds, then raises :class:`BulkheadFull`. Get one with
    :func:`bulkhead`; build one directly only to give it options or a clock
    of its own (tests).

    Args:
        name: 1-200 characters of ``[A-Za-z0-9._:-]``.
        config: The options; ``STABILITY_BULKHEADS[name]`` (read live) when ``None``.
        clock: Wall-clock seconds, shared by every process: lease expiry and
            the wait for a shared place.
        sleep: Pauses between tries for a shared place (sync).
        asleep: The same, async.
        engine: The shared-state engine; the process's own when ``None``.

    Raises:
        ValueError: ``name`` is not a valid name.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        name: str,
        config: BulkheadConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        asleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        engine: Engine | None = None,
    ) -> None:
        self.name = check_name(name)
        self._config = config
        self._own = None if config is None else LocalSlots(config.max_concurrent)
        self.clock = clock
        self.sleep = sleep
        self.asleep = asleep
        self._engine = engine

    def __repr__(self) -> str:
        return f"<Bulkhead {self.name}>"

    @property
    def config(self) -> BulkheadConfig:
        """The options in force."""
        return self._config or config_for(self.name)

    @property
    def key(self) -> str:
        """The shared-state key of the leases of a shared bulkhead."""
        return f"bulkhead:{{{self.name}}}"

    def _slots(self) -> LocalSlots:
        return self._own or _process_slots(self.name, self.config.max_concurrent)

    def _engine_now(self) -> Engine:
        return self._engine or get_engine()

    # -- taking and giving back a place ---------------------------------------

    def _try_lease(self, config: BulkheadConfig, holder: str) -> bool:
        return self._engine_now().acquire_lease(
            self.key,
            holder,
            limit=config.max_concurrent,
            ttl=config.lease,
            now=self.clock(),
        )

    async def _atry_lease(self, config: BulkheadConfig, holder: str) -> bool:
        return await self._engine_now().aacquire_lease(
            self.key,
            holder,
            limit=config.max_concurrent,
            ttl=config.lease,
            now=self.clock(),
        )

    def acquire(self) -> str | None:
        """Take a place, waiting up to ``max_wait``; the lease holder (shared) or ``None`` (local).

        Raises:
            BulkheadFull: no place within ``max_wait``.
        """
        config = self.config
        if not config.shared:
            if self._slots().take(config.max_wait):
                return None
            raise self._full(config)
        holder = uuid.uuid4().hex
        if self._try_lease(config, holder):
            return holder
        for pause in pauses(self.clock, config.max_wait):
            self.sleep(pause)
            if self._try_lease(config, holder):
                return holder
        raise self._full(config)

    async def aacquire(self) -> str | None:
        """The async twin of :meth:`acquire`."""
        config = self.config
        if not config.shared:
            if await self._slots().atake(config.max_wait):
                return None
            raise self._full(config)
        holder = uuid.uuid4().hex
        if await self._atry_lease(config, holder):
            return holder
        for pause in pauses(self.clock, config.max_wait):
            await self.asleep(pause)
            if await self._atry_lease(config, holder):
                return holder
        raise self._full(config)

    def release(self, holder: str | None) -> None:
        """Give back the place :meth:`acquire` returned ``holder`` for."""
        if holder is None:
            self._slots().release()
        else:
            self._engine_now().release_lease(self.key, holder)

    async def arelease(self, holder: str | None) -> None:
        """The async twin of :meth:`release`."""
        if holder is None:
            self._slots().release()
        else:
            await self._engine_now().arelease_lease(self.key, holder)

    def _full(self, config: BulkheadConfig) -> BulkheadFull:
        metrics.bulkhead_rejected.labels(self.name).inc()
        _log.warning(
            "bulkhead_full",
            bulkhead=self.name,
            max_concurrent=config.max_concurrent,
            max_wait=config.max_wait,
            shared=config.shared,
        )
        return BulkheadFull(self.name, config.max_concurrent)

    # -- context manager and decorator ------------------------------------------

    def __enter__(self) -> Bulkhead:
        _push(self, self.acquire())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release(_pop(self))

    async def __aenter__(self) -> Bulkhead:
        _push(self, await self.aacquire())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.arelease(_pop(self))

    def __call__(self, func: F) -> F:
        """Decorate ``func`` (sync or async): each call runs inside the bulkhead."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def acall(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await func(*args, **kwargs)

            return cast(F, acall)

        @functools.wraps(func)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return cast(F, call)


def _push(bulkhead: Bulkhead, holder: str | None) -> None:
    _held.set((*_held.get(), (bulkhead, holder)))


def _pop(bulkhead: Bulkhead) -> str | None:
    held = _held.get()
    for index in range(len(held) - 1, -1, -1):
        if held[index][0] is bulkhead:
            _held.set(held[:index] + held[index + 1 :])
            return held[index][1]
    raise RuntimeError(f"{bulkhead!r} is exited more often than it was entered")


def _process_slots(name: str, limit: int) -> LocalSlots:
    """This process's places of bulkhead ``name``, rebuilt when the settings change."""
    slots: dict[str, LocalSlots] = runtime.get("bulkhead.slots", dict)
    found = slots.get(name)
    return found if found is not None else slots.setdefault(name, LocalSlots(limit))


def bulkhead(name: str) -> Bulkhead:
    """The bulkhead called ``name``, with its options from ``STABILITY_BULKHEADS`` (the defaults if unlisted).

    ``@bulkhead("search")``, ``with bulkhead("search"):``, ``async with
    bulkhead("search"):``. The options are read when a call enters, so the
    decorator can be applied at import time.

    Raises:
        ValueError: ``name`` is not 1-200 characters of ``[A-Za-z0-9._:-]``.

    .. versionadded:: 0.1
    """
    return Bulkhead(name)
