"""The public retry: a decorator and an attempts loop, sync and async, on stamina, with a shared budget."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from django_stability.breakers import CircuitBreaker
from django_stability.retry._attempts import Attempt, Run
from django_stability.retry._budget import tally
from django_stability.retry._core import Call, Hook, hook_for
from django_stability.retry._settings import RetryConfig, config_for, valid_name
from django_stability.state import Engine, get_engine

P = ParamSpec("P")
R = TypeVar("R")


class Retry:
    """Retries of a block or a function, named after an entry of ``STABILITY_RETRIES``.

    Get one with :func:`retry`. Use it as a decorator (sync or async
    functions), through :meth:`call` / :meth:`acall`, or as a loop of attempts::

        for attempt in retry("payments"):
            with attempt:
                charge()

    (``async for`` in async code). stamina runs the attempts; before each
    retry this asks, in order: is the failure retryable (``on``; never a
    ``CircuitOpenError``), are attempts and ``timeout`` left, is the named
    breaker closed, and does the budget shared by every worker allow one
    more retry. The wait before a retry is full jitter: a random time up to
    stamina's exponential backoff for that attempt.

    Args:
        name: 1-200 characters of ``[A-Za-z0-9._:-]``; its options come from
            ``STABILITY_RETRIES`` (the defaults when absent).
        on: Overrides the ``on`` option: exception classes, or a hook
            ``exc -> bool | float | timedelta`` (a number is the wait).
        breaker: Overrides the ``breaker`` option: a breaker name or object.
        clock: Wall-clock seconds (every worker shares the budget's window);
            tests inject one.
        engine: The shared-state engine; the process's one when ``None``.

    Raises:
        ValueError: ``name`` is not a valid name.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        name: str,
        *,
        on: Hook | type[BaseException] | tuple[type[BaseException], ...] | None = None,
        breaker: str | CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        engine: Engine | None = None,
    ) -> None:
        if not valid_name(name):
            raise ValueError(
                "retry names are 1-200 characters of [A-Za-z0-9._:-], "
                f'other than "." and "..", not {name!r}'
            )
        self.name = name
        self.on = on
        self.breaker = breaker
        self.clock = clock
        self._engine = engine

    @property
    def config(self) -> RetryConfig:
        """The options, from ``STABILITY_RETRIES`` as it is now."""
        return config_for(self.name)

    def __repr__(self) -> str:
        return f"<Retry {self.name!r}>"

    def _vet(self, exc: Exception) -> str | None:
        """``None`` when retrying after ``exc`` is safe, else the outcome that forbids it."""
        return None

    async def _avet(self, exc: Exception) -> str | None:
        return self._vet(exc)

    def _run(self) -> Run:
        config = self.config
        engine = self._engine or get_engine()
        call = Call(
            self.name,
            config,
            hook_for(self.on if self.on is not None else config.on),
            self.breaker if self.breaker is not None else config.breaker,
            self.clock,
            tally(engine, self.name),
        )
        return Run(call, engine, self._vet, self._avet)

    # Attempts ------------------------------------------------------------------

    def __iter__(self) -> Iterator[Attempt]:
        """The attempts of one call, for ``for attempt in retry(...): with attempt: ...``."""
        return self._run()

    def __aiter__(self) -> AsyncIterator[Attempt]:
        """The attempts of one call, for ``async for``."""
        return self._run()

    def call(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``func(*args, **kwargs)``, retried."""
        for attempt in self:
            with attempt:
                return func(*args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover - stamina raises

    async def acall(
        self, func: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``await func(*args, **kwargs)``, retried."""
        async for attempt in self:
            with attempt:
                return await func(*args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover - stamina raises

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """Decorate a sync or async function (not a generator)."""
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(f"retry() cannot decorate the generator {func!r}")
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def aretried(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(func, *args, **kwargs)

            return cast(Callable[P, R], aretried)

        @functools.wraps(func)
        def retried(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.call(func, *args, **kwargs)

        return retried


def retry(
    name: str,
    *,
    on: Hook | type[BaseException] | tuple[type[BaseException], ...] | None = None,
    breaker: str | CircuitBreaker | None = None,
) -> Retry:
    """The retries named ``name``: ``@retry("payments")``, ``for attempt in retry("payments")``.

    Options come from ``STABILITY_RETRIES[name]`` and follow its changes;
    ``on`` and ``breaker`` override the options of the same name.

    Raises:
        ValueError: ``name`` is not 1-200 characters of ``[A-Za-z0-9._:-]``.

    .. versionadded:: 0.1
    """
    return Retry(name, on=on, breaker=breaker)
