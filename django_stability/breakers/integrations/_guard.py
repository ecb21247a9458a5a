"""Calls through a breaker where only some exceptions count as the dependency's failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from django_stability.breakers._breaker import CircuitBreaker, Counts
from django_stability.breakers._registry import breaker

M = TypeVar("M")
R = TypeVar("R")

#: Answers for ``func`` that failed or was refused (``func, miss, exception``), or raises.
Failed = Callable[[Callable[..., Any], Any, Exception], Any]


def resolve(target: str | CircuitBreaker) -> CircuitBreaker:
    """The breaker object for a name (the process's registry) or the object itself."""
    return target if isinstance(target, CircuitBreaker) else breaker(target)


class Guard:
    """Calls through ``target`` in which only the exceptions ``counts`` approves are failures.

    An exception that does not count is the caller's: the breaker records a
    success. ``failed`` answers for every exception, a refusal
    (``CircuitOpenError``) included, in the integration's way, or raises it;
    without it they are raised. The breaker's ``fallback`` option does not apply.
    """

    def __init__(
        self, target: str | CircuitBreaker, counts: Counts, failed: Failed | None = None
    ) -> None:
        self.target = target
        self.counts = counts
        self.failed = failed

    @property
    def breaker(self) -> CircuitBreaker:
        return resolve(self.target)

    def call(
        self, miss: M, func: Callable[..., R], /, *args: Any, **kwargs: Any
    ) -> R | M:
        """``func(*args, **kwargs)``; ``miss`` goes to ``failed`` when it fails."""
        otherwise = None if self.failed is None else partial(self.failed, func, miss)
        return self.breaker._through(func, args, kwargs, self.counts, otherwise)

    def acall(
        self,
        miss: M,
        func: Callable[..., Awaitable[R]],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Awaitable[R | M]:
        """The awaitable of :meth:`call` for an async ``func`` (``call_timeout`` applies)."""
        otherwise = None if self.failed is None else partial(self.failed, func, miss)
        return self.breaker._athrough(func, args, kwargs, self.counts, otherwise)
