"""Guard: calls through a breaker where only some exceptions count as the dependency's failure."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from django_stability.breakers import CircuitOpenError
from django_stability.breakers.integrations._guard import Guard
from tests.breakers.integrations.conftest import fake_breaker
from tests.clock import FakeClock


class Theirs(Exception):
    """The dependency failed."""


class Yours(Exception):
    """The caller's mistake: the dependency answered."""


def counts(exc: BaseException) -> bool:
    return isinstance(exc, Theirs)


def raiser(exc: Exception) -> Callable[[], None]:
    def fn() -> None:
        raise exc

    return fn


def test_an_exception_that_does_not_count_passes_unchanged_as_a_success():
    """The caller gets its own exception object; the breaker counts a success."""
    guarded = fake_breaker(FakeClock(1e9), "guard-yours", failure_threshold=1)
    mistake = Yours("bad request")
    for _ in range(3):
        with pytest.raises(Yours) as caught:
            Guard(guarded, counts).call(None, raiser(mistake))
        assert caught.value is mistake
    assert guarded.snapshot().failures == 0 and guarded.state == "closed"


def test_failed_answers_for_counted_failures_and_refusals():
    """``failed`` gets the function, the miss and the exception; the breaker's fallback does not apply."""
    seen = []

    def failed(func, miss, exc):
        seen.append(type(exc))
        return miss

    guarded = fake_breaker(FakeClock(1e9), "guard-theirs", failure_threshold=1)
    guard = Guard(guarded, counts, failed)
    assert guard.call("miss", raiser(Theirs())) == "miss"
    assert guard.call("miss", lambda: "hit") == "miss"  # open now: refused
    assert seen == [Theirs, CircuitOpenError]
    with pytest.raises(CircuitOpenError):
        Guard(guarded, counts).call(None, lambda: "hit")


async def test_the_async_call_counts_a_timeout_whatever_counts_says():
    """Running past call_timeout is a failure even when ``counts`` approves no TimeoutError."""
    import asyncio

    guarded = fake_breaker(
        FakeClock(1e9), "guard-slow", failure_threshold=1, call_timeout=0.01
    )
    with pytest.raises(TimeoutError):
        await Guard(guarded, counts).acall(None, asyncio.sleep, 30)
    assert guarded.state == "open"
