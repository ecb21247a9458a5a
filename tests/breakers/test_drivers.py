"""The drivers: the store's own errors never fail a protected call, sync or async."""

from __future__ import annotations

import pytest

from django_stability.breakers import BreakerConfig, CircuitBreaker
from django_stability.state import Engine
from tests.breakers.support import Boom, raiser
from tests.logcapture import capture_logs


def test_broken_bookkeeping_never_fails_the_call(clock):
    """If the store itself errors (not an outage), calls still run and the error is logged."""

    class BrokenEngine(Engine):
        def run(self, *args, **kwargs):
            raise RuntimeError("store bug")

    from django_stability.breakers import BreakerConfig

    b = CircuitBreaker(
        "broken",
        BreakerConfig(failure_threshold=1),
        clock=clock,
        engine=BrokenEngine(clock=clock),
    )
    with capture_logs() as logs:
        assert b.call(lambda: 5) == 5
        with pytest.raises(Boom):
            b.call(raiser(Boom()))
    assert logs.events("breaker_state_error", breaker="broken")


async def test_broken_bookkeeping_never_fails_an_async_call(clock):
    """The async driver logs a failing store and lets the call run too."""

    class BrokenEngine(Engine):
        async def arun(self, *args, **kwargs):
            raise RuntimeError("store bug")

    b = CircuitBreaker(
        "abroken", BreakerConfig(), clock=clock, engine=BrokenEngine(clock=clock)
    )

    async def five() -> int:
        return 5

    with capture_logs() as logs:
        assert await b.acall(five) == 5
    assert logs.events("breaker_state_error", breaker="abroken")
