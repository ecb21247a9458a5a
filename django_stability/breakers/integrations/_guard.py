"""Calls through a breaker where only some exceptions count as the dependency's failure.

The breaker counts every exception its protected block raises (but those of
``exclude``). An integration knows better: an ``IntegrityError`` proves the
database answered, a 404 that the service is up. Such an exception is caught
inside the protected block, so the breaker records a success, and raised
again outside it, unchanged, so the caller sees it as if no breaker were there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers._registry import breaker

R = TypeVar("R")

#: Tells whether an exception is the dependency's failure (counted) or the caller's (passed on).
Counts = Callable[[BaseException], bool]


def resolve(target: str | CircuitBreaker) -> CircuitBreaker:
    """The breaker object for a name (the process's registry) or the object itself."""
    return target if isinstance(target, CircuitBreaker) else breaker(target)


def call(
    target: CircuitBreaker,
    counts: Counts,
    func: Callable[..., R],
    /,
    *args: Any,
    **kwargs: Any,
) -> R:
    """``func(*args, **kwargs)`` through ``target``; only exceptions ``counts`` approves are failures.

    The breaker's ``fallback`` option does not apply: each integration
    answers for an open breaker in its own way.

    Raises:
        CircuitOpenError: the breaker refuses the call.
    """
    passed: Exception | None = None
    with target:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if counts(exc):
                raise
            passed = exc
    assert passed is not None  # the block returned, raised, or set it
    raise passed


async def acall(
    target: CircuitBreaker,
    counts: Counts,
    func: Callable[..., Awaitable[R]],
    /,
    *args: Any,
    **kwargs: Any,
) -> R:
    """The async twin of :func:`call` (the breaker's ``call_timeout`` applies)."""
    passed: Exception | None = None
    async with target:
        try:
            return await func(*args, **kwargs)
        except Exception as exc:
            if counts(exc):
                raise
            passed = exc
    assert passed is not None  # the block returned, raised, or set it
    raise passed
