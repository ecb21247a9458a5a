"""The retry budget: retries per call over a window, counted in the shared record (one process here).

Several processes sharing one budget: ``test_multiprocess.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from django_stability.retry import Retry
from django_stability.retry._budget import allowed, key
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.fixtures.redis_server import RedisServer
from tests.retry.support import Dependency, outcomes

FAST = {"wait_initial": 0, "wait_max": 0}


@pytest.fixture
def budgeted(settings: Any, name: str, clock: FakeClock, engine: Engine) -> Any:
    """``budgeted(**options)``: a Retry of this test's name, budget 0.1 over a minute, no minimum."""

    def make(**options: Any) -> Retry:
        base = {"attempts": 3, "budget": 0.1, "window": 60, "min_retries": 0}
        settings.STABILITY_RETRIES = {name: {**FAST, **base, **options}}
        return Retry(name, clock=clock, engine=engine)

    return make


async def fail_calls(retrying: Retry, calls: int, asynchronous: bool) -> Dependency:
    """Make ``calls`` calls to a dependency that always fails; return it, with its count."""
    dependency = Dependency()
    for _ in range(calls):
        with pytest.raises(ConnectionError):
            if asynchronous:
                await retrying.acall(dependency.acall)
            else:
                retrying.call(dependency)
    return dependency


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_failing_dependency_gets_budget_times_its_calls_in_retries(
    budgeted, name, asynchronous
):
    """100 calls failing with budget 0.1: 10 retries in all (not 200), the rest raised at once."""
    dependency = await fail_calls(budgeted(), 100, asynchronous)
    assert dependency.calls == 110
    assert outcomes(name) == {"retried": 10, "budget_exhausted": 100}


async def test_min_retries_lets_a_quiet_name_retry(budgeted, name):
    """With few calls, ``min_retries`` retries per window are granted whatever the budget says."""
    dependency = await fail_calls(budgeted(min_retries=2), 5, False)
    # The first call uses both: its second retry is within the minimum of 2.
    assert dependency.calls == 5 + 2
    assert outcomes(name)["retried"] == 2


async def test_the_count_restarts_with_each_window(budgeted, clock):
    """Calls of an earlier window earn nothing in the next one."""
    retrying = budgeted()
    assert (await fail_calls(retrying, 10, False)).calls == 11  # 10 calls earn 1
    clock.advance(60)
    assert (await fail_calls(retrying, 9, False)).calls == 9  # 9 calls earn none


async def test_successful_calls_earn_retries_too(budgeted, name):
    """Calls that succeeded count: after 49 successes, a failing call (the 50th) gets 5 retries."""
    retrying = budgeted(attempts=20)
    for _ in range(49):
        assert retrying.call(Dependency(failures=0)) == "ok"
    dependency = await fail_calls(retrying, 1, False)
    assert dependency.calls == 1 + 5
    assert outcomes(name) == {"retried": 5, "budget_exhausted": 1}


@pytest.mark.redis
async def test_pending_calls_are_sent_after_a_tenth_of_a_window(settings, name, clock):
    """A process that only succeeds still tells the others its calls, every window / 10 at most."""
    from tests.state.conftest import redis_engine

    settings.STABILITY_RETRIES = {name: {"budget": 0.1, "window": 60}}
    with redis_engine(clock=clock) as engine:
        retrying = Retry(name, clock=clock, engine=engine)
        client = engine.redis_client()
        assert client is not None
        stored = engine.key_prefix + key(name)
        retrying.call(Dependency(failures=0))  # the first call sends at once
        for _ in range(4):
            retrying.call(Dependency(failures=0))
        assert client.hget(stored, "c") == "1"  # not one round trip per call
        clock.advance(6)  # a tenth of the window
        retrying.call(Dependency(failures=0))
        assert client.hget(stored, "c") == "6"


async def test_no_budget_retries_every_call(budgeted, name):
    """``budget: None`` turns the budget off: every failing call gets all its attempts."""
    dependency = await fail_calls(budgeted(budget=None), 20, False)
    assert dependency.calls == 60
    assert outcomes(name) == {"retried": 40, "exhausted": 20}


def test_allowed_retries_round_down_without_float_noise():
    """0.1 x 30 calls earn 3 retries (not 2, as 2.9999... would), never fewer than the minimum."""
    assert [allowed(c, 0.1, 0) for c in (9, 10, 29, 30, 31)] == [0, 1, 2, 3, 3]
    assert allowed(5, 0.1, 3) == 3
    assert allowed(1000, 0.0, 0) == 0


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_with_redis_down_the_budget_holds_per_process(
    settings, name, redis_server, asynchronous
):
    """Redis killed: no error of the engine reaches the caller, and this process keeps its own budget."""
    settings.STABILITY_RETRIES = {
        name: {**FAST, "budget": 0.1, "window": 60, "min_retries": 0}
    }
    server: RedisServer = redis_server
    engine = Engine(server.url, timeout=0.5, connect_timeout=0.5)
    try:
        retrying = Retry(name, engine=engine)
        assert (await fail_calls(retrying, 10, asynchronous)).calls == 11
        server.kill()
        dependency = await fail_calls(retrying, 20, asynchronous)
        assert engine.mode == "degraded"
        # Process memory starts afresh: 20 calls earn 2 retries.
        assert dependency.calls == 22
    finally:
        if asynchronous:
            await engine.aclose()
        engine.close()


@pytest.mark.redis
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_broken_record_refuses_retries_without_failing_the_call(
    settings, name, clock, asynchronous
):
    """The budget's key clobbered by another program (wrong type): no retry, the call's own error raised."""
    from tests.state.conftest import redis_engine

    settings.STABILITY_RETRIES = {name: {**FAST, "budget": 0.1, "min_retries": 5}}
    with redis_engine(clock=clock) as engine:
        client = engine.redis_client()
        assert client is not None
        client.set(engine.key_prefix + key(name), "not a hash")
        retrying = Retry(name, clock=clock, engine=engine)
        dependency = await fail_calls(retrying, 2, asynchronous)
        if asynchronous:
            await engine.aclose()
    assert dependency.calls == 2
    assert outcomes(name) == {"budget_exhausted": 2}
