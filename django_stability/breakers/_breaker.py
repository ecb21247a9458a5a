"""The public breaker: decorator, context managers, calls, state and operator actions, sync and async."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from django_stability.breakers import _machine as m
from django_stability.breakers._core import BreakerCore
from django_stability.breakers._drivers import adrive, drive
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._snapshot import Snapshot

P = ParamSpec("P")
R = TypeVar("R")

#: Tells whether an exception is the dependency's failure (counted) or the caller's (passed on).
Counts = Callable[[BaseException], bool]
#: Answers for a call that raised (or was refused) instead of raising; may raise.
Otherwise = Callable[[Exception], Any]


def _judged(exc: BaseException, counts: Counts | None) -> BaseException | None:
    """``exc`` as the breaker sees it: ``None`` (a success) when ``counts`` says it is not a failure."""
    if counts is not None and isinstance(exc, Exception) and not counts(exc):
        return None
    return exc


class CircuitBreaker(BreakerCore):
    """A named circuit breaker whose state every worker process shares.

    Get one with :func:`breaker`; construct one directly only in tests or for
    a breaker with options of its own. Use it as a decorator (sync or async
    functions), a context manager (``with`` / ``async with``), or through
    :meth:`call` / :meth:`acall`.

    Args:
        name: 1-200 characters of ``[A-Za-z0-9._:-]``.
        config: The options; read from ``STABILITY_BREAKERS`` when ``None``.
        clock: Wall-clock seconds (not a monotonic clock); tests inject one.
        engine: The shared-state engine; the process's one when ``None``.
        staleness: Seconds this process trusts its cached view of the shared state.

    .. versionadded:: 0.1
    """

    # Sync --------------------------------------------------------------------

    def _through(
        self,
        func: Callable[..., R],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        counts: Counts | None = None,
        otherwise: Otherwise | None = None,
    ) -> R:
        """``func(*args, **kwargs)`` through the breaker.

        With ``counts`` (the integrations), only the exceptions it approves are
        failures and the ``fallback`` option does not apply; ``otherwise``
        answers for any exception, a refusal included, instead of raising it.
        """
        started = self.clock()
        exc: BaseException | None = None
        try:
            view = self._view
            token = (
                ""
                if view.closed_until > started
                else drive(self, self._admission(started))
            )
        except CircuitOpenError as refused:
            return cast(R, self._refused(refused, counts, otherwise)(*args, **kwargs))
        try:
            return func(*args, **kwargs)
        except BaseException as error:
            exc = _judged(error, counts)
            if otherwise is None or not isinstance(error, Exception):
                raise
            return cast(R, otherwise(error))
        finally:
            if not self._settled(token, exc):
                drive(self, self._finishing(token, started, exc))

    def call(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func`` through the breaker (the fallback answers while it refuses calls).

        Raises:
            CircuitOpenError: the breaker refuses the call and has no fallback.
        """
        return self._through(func, args, kwargs)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Decorate a sync or async function."""
        if inspect.iscoroutinefunction(func):
            return cast(Callable[P, R], self._decorate_async(func))
        clock = self.clock
        successes = self._successes

        @functools.wraps(func)
        def protected(*args: P.args, **kwargs: P.kwargs) -> R:
            started = clock()
            view = self._view
            # The hot path: closed and fresh, nothing to ask anyone.
            if view.closed_until > started and view.slow_seconds is None:
                try:
                    result = func(*args, **kwargs)
                except BaseException as exc:
                    drive(self, self._finishing("", started, exc))
                    raise
                next(successes)
                return result
            return self._through(func, args, kwargs)

        return protected

    def __enter__(self) -> CircuitBreaker:
        started = self.clock()
        view = self._view
        token = (
            "" if view.closed_until > started else drive(self, self._admission(started))
        )
        self._active.set((*self._active.get(), (token, started, None)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        *rest, (token, started, _) = self._active.get()
        self._active.set(tuple(rest))
        if not self._settled(token, exc):
            drive(self, self._finishing(token, started, exc))

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``, at most ``staleness`` seconds old."""
        return drive(self, self._state_name())

    def snapshot(self) -> Snapshot:
        """State and statistics, read from the shared state now."""
        return drive(self, self._reported())

    def command(self, action: str) -> Snapshot:
        """Apply an operator action to the shared state: ``open``, ``close``, ``release`` or ``reset``.

        This changes the shared state only;
        :func:`~django_stability.breakers.operate` also persists forced states
        and records who did it.

        Raises:
            ValueError: unknown action.
        """
        return drive(self, self._commanded(action))

    # Async -------------------------------------------------------------------

    async def _athrough(
        self,
        func: Callable[..., Awaitable[R]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        counts: Counts | None = None,
        otherwise: Otherwise | None = None,
    ) -> R:
        """The async :meth:`_through`, within ``call_timeout`` (whose expiry always counts)."""
        started = self.clock()
        exc: BaseException | None = None
        try:
            view = self._view
            token = (
                ""
                if view.closed_until > started
                else await adrive(self, self._admission(started))
            )
        except CircuitOpenError as refused:
            answer = self._refused(refused, counts, otherwise)(*args, **kwargs)
            return cast(R, await answer if inspect.isawaitable(answer) else answer)
        limit = asyncio.timeout(self.config.call_timeout)
        try:
            async with limit:
                return await func(*args, **kwargs)
        except BaseException as error:
            exc = error if limit.expired() else _judged(error, counts)
            if otherwise is None or not isinstance(error, Exception):
                raise
            return cast(R, otherwise(error))
        finally:
            if not self._settled(token, exc):
                await adrive(self, self._finishing(token, started, exc))

    async def acall(
        self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``func(*args, **kwargs)`` through the breaker, within ``call_timeout``.

        Raises:
            CircuitOpenError: the breaker refuses the call and has no fallback.
            TimeoutError: the call took longer than ``call_timeout`` (counted as a failure).
        """
        return await self._athrough(func, args, kwargs)

    def _decorate_async(
        self, func: Callable[P, Awaitable[R]]
    ) -> Callable[P, Awaitable[R]]:
        clock = self.clock
        successes = self._successes

        @functools.wraps(func)
        async def protected(*args: P.args, **kwargs: P.kwargs) -> R:
            started = clock()
            view = self._view
            if view.closed_until > started and view.plain:
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    await adrive(self, self._finishing("", started, exc))
                    raise
                next(successes)
                return result
            return await self._athrough(func, args, kwargs)

        return protected

    async def __aenter__(self) -> CircuitBreaker:
        started = self.clock()
        view = self._view
        token = (
            ""
            if view.closed_until > started
            else await adrive(self, self._admission(started))
        )
        timeout = self.config.call_timeout
        limit = asyncio.timeout(timeout) if timeout is not None else None
        if limit is not None:
            await limit.__aenter__()
        self._active.set((*self._active.get(), (token, started, limit)))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        *rest, (token, started, limit) = self._active.get()
        self._active.set(tuple(rest))
        try:
            if limit is not None:
                await limit.__aexit__(exc_type, exc, tb)
        except TimeoutError as timed_out:  # the block ran past call_timeout
            exc = timed_out
            raise
        finally:
            if not self._settled(token, exc):
                await adrive(self, self._finishing(token, started, exc))

    async def astate(self) -> str:
        """The async twin of :attr:`state`."""
        return await adrive(self, self._state_name())

    async def asnapshot(self) -> Snapshot:
        """The async twin of :meth:`snapshot`."""
        return await adrive(self, self._reported())

    async def acommand(self, action: str) -> Snapshot:
        """The async twin of :meth:`command`."""
        return await adrive(self, self._commanded(action))

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {m.STATE_NAMES[self._view.state]}>"
