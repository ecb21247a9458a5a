"""The public breaker: decorator, context managers, calls, state and operator actions, sync and async."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from asgiref.sync import sync_to_async

from django_stability.breakers import _machine as m
from django_stability.breakers._core import BreakerCore, _View
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._forced import forced_action
from django_stability.breakers._snapshot import Snapshot
from django_stability.breakers._store import Record
from django_stability.signals import breaker_state_changed

P = ParamSpec("P")
R = TypeVar("R")

_ACTIONS = {
    "open": m.FORCE_OPEN,
    "close": m.FORCE_CLOSE,
    "release": m.RELEASE,
    "reset": m.RESET,
}


def _token() -> str:
    return os.urandom(8).hex()


def _denied(mode: str, record: Record | None) -> bool:
    """A refused trial permit: the process waits a little before asking again."""
    return mode == m.ACQUIRE and record is not None and not record.granted


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

    # Sync path ---------------------------------------------------------------

    def _run(self, now: float, mode: str, **event: Any) -> tuple[Record | None, _View]:
        record = self._step(now, mode, **event)
        view, change = self._apply(record, now, denied=_denied(mode, record))
        if change is not None:
            breaker_state_changed.send(
                sender=CircuitBreaker, name=self.name, old=change[0], new=change[1]
            )
        if record is not None and record.fresh:
            return self._restore(now) or (record, view)
        return record, view

    def _refresh(self, now: float) -> _View:
        if not self._sync_lock.acquire(blocking=False):
            return self._view  # another thread is refreshing it right now
        try:
            return self._run(now, m.REPORT, calls=self._take_successes())[1]
        finally:
            self._sync_lock.release()

    def _admit(self, now: float) -> str:
        view = self._view
        if now >= view.valid_until:
            view = self._refresh(now)
        if (admitted := self._decide(view, now)) is not None:
            return admitted
        token = _token()
        record, view = self._run(now, m.ACQUIRE, token=token)
        return token if self._granted(record, view, now) == "trial" else ""

    def _finish(self, token: str, started: float, exc: BaseException | None) -> None:
        now = self.clock()
        outcome, slow = self._outcome(exc, started, now)
        if token:
            self._run(now, m.TRIAL, token=token, outcome=m.FAILURE if slow else outcome)
        elif outcome == m.FAILURE or slow:
            self._run(
                now,
                m.REPORT,
                calls=self._take_successes() + 1,
                failures=int(outcome == m.FAILURE),
                slow=int(slow),
            )
        elif outcome == m.SUCCESS:
            next(self._successes)

    def _restore(self, now: float) -> tuple[Record | None, _View] | None:
        """Re-apply an operator-forced state kept in the database (after a restart or a Redis flush).

        Returns what the shared state says after the restore, or ``None`` when
        there was nothing to restore.
        """
        forced = forced_action(self.name)
        if forced is None:
            return None
        return self._run(now, m.COMMAND, outcome=_ACTIONS[forced])

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
        # Closed and fresh: admitted without asking anyone (the hot path).
        token = "" if self._view.closed_until > started else self._admit(started)
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
        if exc is None and not token and self._view.slow_seconds is None:
            next(self._successes)
        else:
            self._finish(token, started, exc)

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``, at most ``staleness`` seconds old."""
        now = self.clock()
        view = self._view if now < self._view.valid_until else self._refresh(now)
        return m.STATE_NAMES[view.state]

    def snapshot(self) -> Snapshot:
        """State and statistics, read from the shared state now."""
        now = self.clock()
        record, _ = self._run(now, m.REPORT, calls=self._take_successes())
        return self._snapshot(record, now)

    def command(self, action: str) -> Snapshot:
        """Apply an operator action to the shared state: ``open``, ``close``, ``release`` or ``reset``.

        This changes the shared state only; :mod:`django_stability.breakers`'
        ``force()`` also persists forced states and records who did it.

        Raises:
            ValueError: unknown action.
        """
        if action not in _ACTIONS:
            raise ValueError(
                f"unknown breaker action {action!r}; use one of {', '.join(_ACTIONS)}"
            )
        now = self.clock()
        record, _ = self._run(now, m.COMMAND, outcome=_ACTIONS[action])
        return self._snapshot(record, now)

    # Async path --------------------------------------------------------------

    async def _arun(
        self, now: float, mode: str, **event: Any
    ) -> tuple[Record | None, _View]:
        record = await self._astep(now, mode, **event)
        view, change = self._apply(record, now, denied=_denied(mode, record))
        if change is not None:
            await breaker_state_changed.asend(
                sender=CircuitBreaker, name=self.name, old=change[0], new=change[1]
            )
        if record is not None and record.fresh:
            return await self._arestore(now) or (record, view)
        return record, view

    async def _arefresh(self, now: float) -> _View:
        if not self._sync_lock.acquire(blocking=False):
            return self._view
        try:
            return (await self._arun(now, m.REPORT, calls=self._take_successes()))[1]
        finally:
            self._sync_lock.release()

    async def _aadmit(self, now: float) -> str:
        view = self._view
        if now >= view.valid_until:
            view = await self._arefresh(now)
        if (admitted := self._decide(view, now)) is not None:
            return admitted
        token = _token()
        record, view = await self._arun(now, m.ACQUIRE, token=token)
        return token if self._granted(record, view, now) == "trial" else ""

    async def _afinish(
        self, token: str, started: float, exc: BaseException | None
    ) -> None:
        now = self.clock()
        outcome, slow = self._outcome(exc, started, now)
        if token:
            await self._arun(
                now, m.TRIAL, token=token, outcome=m.FAILURE if slow else outcome
            )
        elif outcome == m.FAILURE or slow:
            await self._arun(
                now,
                m.REPORT,
                calls=self._take_successes() + 1,
                failures=int(outcome == m.FAILURE),
                slow=int(slow),
            )
        elif outcome == m.SUCCESS:
            next(self._successes)

    async def _arestore(self, now: float) -> tuple[Record | None, _View] | None:
        forced = await sync_to_async(forced_action)(self.name)
        if forced is None:
            return None
        return await self._arun(now, m.COMMAND, outcome=_ACTIONS[forced])

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
        now = self.clock()
        view = self._view if now < self._view.valid_until else await self._arefresh(now)
        return m.STATE_NAMES[view.state]

    async def asnapshot(self) -> Snapshot:
        """The async twin of :meth:`snapshot`."""
        now = self.clock()
        record, _ = await self._arun(now, m.REPORT, calls=self._take_successes())
        return self._snapshot(record, now)

    async def acommand(self, action: str) -> Snapshot:
        """The async twin of :meth:`command`."""
        if action not in _ACTIONS:
            raise ValueError(
                f"unknown breaker action {action!r}; use one of {', '.join(_ACTIONS)}"
            )
        now = self.clock()
        record, _ = await self._arun(now, m.COMMAND, outcome=_ACTIONS[action])
        return self._snapshot(record, now)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {m.STATE_NAMES[self._view.state]}>"
