"""One call's attempts: stamina's iterator, with the call's steps driven (sync or async) before each attempt."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import stamina

from django_stability.breakers import CircuitBreaker
from django_stability.breakers import breaker as named_breaker
from django_stability.retry._budget import SPEND, key, spend_args
from django_stability.retry._core import STATE, VET, Call, Steps, install_hook, running
from django_stability.state import Engine

#: ``None`` when retrying after the exception is safe, else the outcome that forbids it.
Vet = Callable[[Exception], str | None]
AsyncVet = Callable[[Exception], Awaitable[str | None]]

logger = logging.getLogger("django_stability.retry")


class Attempt:
    """One attempt of a retried block; run the block inside ``with attempt:``.

    .. versionadded:: 0.1
    """

    __slots__ = ("_call", "_inner")

    def __init__(self, inner: stamina.Attempt, call: Call) -> None:
        self._inner = inner
        self._call = call

    @property
    def num(self) -> int:
        """This attempt's number, 1 for the first."""
        return self._inner.num

    def __enter__(self) -> None:
        self._inner.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        call = self._call
        if exc is None:
            call.failed = None
            call.succeeded(self.num)
        else:
            call.failed, call.number = exc, self.num
            call.envelope = self._inner.next_wait
        return self._inner.__exit__(exc_type, exc, tb)


def _breaker(target: str | CircuitBreaker) -> CircuitBreaker:
    return target if isinstance(target, CircuitBreaker) else named_breaker(target)


def _args(call: Call, calls: int, want: bool) -> list[Any]:
    config = call.config
    budget = config.budget if config.budget is not None else 0.0
    return spend_args(
        call.clock(), config.window, calls, want, budget, config.min_retries
    )


def _io(kind: int, arg: Any, engine: Engine, call: Call) -> Any:
    if kind == STATE:
        return _breaker(arg).state
    return engine.run(SPEND, [key(call.name)], _args(call, *arg))


async def _aio(kind: int, arg: Any, engine: Engine, call: Call) -> Any:
    if kind == STATE:
        return await _breaker(arg).astate()
    return await engine.arun(SPEND, [key(call.name)], _args(call, *arg))


def drive(steps: Steps, engine: Engine, call: Call, vet: Vet) -> None:
    """Run ``steps`` of ``call`` in this thread."""
    try:
        kind, arg = next(steps)
        while True:
            if kind == VET:
                answer: Any = vet(arg)
            else:
                try:
                    answer = _io(kind, arg, engine, call)
                except Exception:  # bookkeeping never fails the call: no retry then
                    logger.warning(
                        "retry %s: budget or breaker unreadable, no retry",
                        call.name,
                        exc_info=True,
                    )
                    answer = None
            kind, arg = steps.send(answer)
    except StopIteration:
        return


async def adrive(steps: Steps, engine: Engine, call: Call, vet: AsyncVet) -> None:
    """Run ``steps`` of ``call`` on the running event loop."""
    try:
        kind, arg = next(steps)
        while True:
            if kind == VET:
                answer: Any = await vet(arg)
            else:
                try:
                    answer = await _aio(kind, arg, engine, call)
                except Exception:  # bookkeeping never fails the call: no retry then
                    logger.warning(
                        "retry %s: budget or breaker unreadable, no retry",
                        call.name,
                        exc_info=True,
                    )
                    answer = None
            kind, arg = steps.send(answer)
    except StopIteration:
        return


class Run:
    """The attempts of one call, as a sync and an async iterator."""

    def __init__(self, call: Call, engine: Engine, vet: Vet, avet: AsyncVet) -> None:
        install_hook()
        config = call.config
        self.call = call
        self.engine = engine
        self.vet = vet
        self.avet = avet
        self.context = stamina.retry_context(
            on=call.verdict,
            attempts=config.attempts,
            timeout=config.timeout,
            wait_initial=config.wait_initial,
            wait_max=config.wait_max,
            wait_jitter=0,  # the call's own full jitter replaces stamina's added one
        )
        self.first = True
        self.sync: Iterator[stamina.Attempt] | None = None
        self.asynchronous: AsyncIterator[stamina.Attempt] | None = None

    def _steps(self) -> Steps | None:
        if self.first:
            self.first = False
            return self.call.starting()
        return self.call.deciding() if self.call.failed is not None else None

    def __iter__(self) -> Run:
        return self

    def __next__(self) -> Attempt:
        if (steps := self._steps()) is not None:
            drive(steps, self.engine, self.call, self.vet)
        if self.sync is None:
            self.sync = iter(self.context)
        token = running.set(self.call)
        try:
            inner = next(self.sync)
        except StopIteration:
            raise
        except BaseException as exc:  # the last failure, raised by stamina
            self.call.ended(exc)
            raise
        finally:
            running.reset(token)
        return Attempt(inner, self.call)

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> Attempt:
        if (steps := self._steps()) is not None:
            await adrive(steps, self.engine, self.call, self.avet)
        if self.asynchronous is None:
            self.asynchronous = aiter(self.context)
        token = running.set(self.call)
        try:
            inner = await anext(self.asynchronous)
        except StopAsyncIteration:
            raise
        except BaseException as exc:  # the last failure, raised by stamina
            self.call.ended(exc)
            raise
        finally:
            running.reset(token)
        return Attempt(inner, self.call)
