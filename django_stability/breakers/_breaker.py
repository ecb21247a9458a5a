"""The public breaker: decorator, context managers, calls, state and operator actions, sync and async.

Each behaviour is written once, as steps of :class:`._core.BreakerCore` that
yield the I/O they need; :meth:`CircuitBreaker._drive` does that I/O in the
caller's thread and :meth:`CircuitBreaker._adrive` on its event loop. A
closed breaker with a fresh view never gets that far (the hot path): its calls
are admitted, and their successes counted, without any step.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from asgiref.sync import sync_to_async

from django_stability.breakers import _machine as m
from django_stability.breakers._core import FORCED, STORE, BreakerCore, Steps, log
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._forced import forced_action, restoring
from django_stability.breakers._snapshot import Snapshot
from django_stability.breakers._store import STEP, Record
from django_stability.signals import breaker_state_changed

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class CircuitBreaker(BreakerCore):
    """A named circuit breaker whose state every worker process shares.

    Get one with :func:`breaker`; construct one directly only in tests or for
    a breaker with options of its own. Use it as a decorator (sync or async
    functions), a context manager (``with`` / ``async with``), or through
    :meth:`call` / :meth:`acall`.

    Args:
        name: 1-200 characters of ``[A-Za-z0-9._:-]``.
        config: The options; read from ``STABILITY_BREAKERS`` when ``None``.
        clock: Wall-clock seconds (shared state compares times across
            processes, so a monotonic clock will not do); tests inject one.
        engine: The shared-state engine; the process's one when ``None``.
        staleness: Seconds this process trusts its cached view; the bound on
            how late it sees another process's transition.

    .. versionadded:: 0.1
    """

    # Drivers -----------------------------------------------------------------

    def _drive(self, steps: Steps[T]) -> T:
        """Run ``steps``, doing the I/O they ask for in this thread."""
        try:
            op, arg = next(steps)
            while True:
                if op == STORE:
                    answer: Any = self._step(*arg)
                elif op == FORCED:
                    answer = forced_action(self.name)
                else:
                    answer = breaker_state_changed.send(
                        sender=CircuitBreaker, name=self.name, old=arg[0], new=arg[1]
                    )
                op, arg = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            steps.close()  # an I/O that raised: the steps' own cleanup still runs

    async def _adrive(self, steps: Steps[T]) -> T:
        """Run ``steps``, doing the I/O they ask for on the running event loop."""
        try:
            op, arg = next(steps)
            while True:
                if op == STORE:
                    answer: Any = await self._astep(*arg)
                elif op == FORCED:
                    answer = None  # no thread for a read forced_action would skip
                    if not restoring():
                        answer = await sync_to_async(forced_action)(self.name)
                else:
                    answer = await breaker_state_changed.asend(
                        sender=CircuitBreaker, name=self.name, old=arg[0], new=arg[1]
                    )
                op, arg = steps.send(answer)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            steps.close()

    def _step(self, now: float, mode: str, event: dict[str, Any]) -> Record | None:
        try:
            args = self._args(now, mode, **event)
            return self.engine.run(STEP, self._keys, args)
        except Exception:  # bookkeeping must never fail the protected call
            log.exception("breaker_state_error", breaker=self.name)
            return None

    async def _astep(
        self, now: float, mode: str, event: dict[str, Any]
    ) -> Record | None:
        try:
            args = self._args(now, mode, **event)
            return await self.engine.arun(STEP, self._keys, args)
        except Exception:  # bookkeeping must never fail the protected call
            log.exception("breaker_state_error", breaker=self.name)
            return None

    # Sync --------------------------------------------------------------------

    def _admit(self, started: float) -> str:
        if self._view.closed_until > started:
            return ""  # closed and fresh: admitted without asking anyone
        return self._drive(self._admission(started))

    def _finish(self, token: str, started: float, exc: BaseException | None) -> None:
        if exc is None and not token and self._view.slow_seconds is None:
            next(self._successes)  # the common case: nothing to tell anyone yet
        else:
            self._drive(self._finishing(token, started, exc))

    def call(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func`` through the breaker (the fallback answers while it refuses calls).

        Raises:
            CircuitOpenError: the breaker refuses the call and has no fallback.
        """
        started = self.clock()
        try:
            token = self._admit(started)
        except CircuitOpenError as refused:
            return cast(R, self._fallback(refused)(*args, **kwargs))
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            self._finish(token, started, exc)
            raise
        self._finish(token, started, None)
        return result

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
                    self._finish("", started, exc)
                    raise
                next(successes)
                return result
            return self.call(func, *args, **kwargs)

        return protected

    def __enter__(self) -> CircuitBreaker:
        started = self.clock()
        token = self._admit(started)
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
        self._finish(token, started, exc)

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``, at most ``staleness`` seconds old."""
        return self._drive(self._state_name())

    def snapshot(self) -> Snapshot:
        """State and statistics, read from the shared state now."""
        return self._drive(self._reported())

    def command(self, action: str) -> Snapshot:
        """Apply an operator action to the shared state: ``open``, ``close``, ``release`` or ``reset``.

        This changes the shared state only;
        :func:`~django_stability.breakers.operate` also persists forced states
        and records who did it.

        Raises:
            ValueError: unknown action.
        """
        return self._drive(self._commanded(action))

    # Async -------------------------------------------------------------------

    async def _aadmit(self, started: float) -> str:
        if self._view.closed_until > started:
            return ""
        return await self._adrive(self._admission(started))

    async def _afinish(
        self, token: str, started: float, exc: BaseException | None
    ) -> None:
        if exc is None and not token and self._view.slow_seconds is None:
            next(self._successes)
        else:
            await self._adrive(self._finishing(token, started, exc))

    async def acall(
        self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Await ``func(*args, **kwargs)`` through the breaker, within ``call_timeout``.

        Raises:
            CircuitOpenError: the breaker refuses the call and has no fallback.
            TimeoutError: the call took longer than ``call_timeout`` (counted as a failure).
        """
        started = self.clock()
        try:
            token = await self._aadmit(started)
        except CircuitOpenError as refused:
            answer = self._fallback(refused)(*args, **kwargs)
            return cast(R, await answer if inspect.isawaitable(answer) else answer)
        try:
            async with asyncio.timeout(self.config.call_timeout):
                result = await func(*args, **kwargs)
        except BaseException as exc:
            await self._afinish(token, started, exc)
            raise
        await self._afinish(token, started, None)
        return result

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
                    await self._afinish("", started, exc)
                    raise
                next(successes)
                return result
            return await self.acall(func, *args, **kwargs)

        return protected

    async def __aenter__(self) -> CircuitBreaker:
        started = self.clock()
        token = await self._aadmit(started)
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
        if limit is not None:
            try:
                await limit.__aexit__(exc_type, exc, tb)
            except TimeoutError as timed_out:  # the block ran past call_timeout
                await self._afinish(token, started, timed_out)
                raise
        await self._afinish(token, started, exc)

    async def astate(self) -> str:
        """The async twin of :attr:`state`."""
        return await self._adrive(self._state_name())

    async def asnapshot(self) -> Snapshot:
        """The async twin of :meth:`snapshot`."""
        return await self._adrive(self._reported())

    async def acommand(self, action: str) -> Snapshot:
        """The async twin of :meth:`command`."""
        return await self._adrive(self._commanded(action))

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {m.STATE_NAMES[self._view.state]}>"
