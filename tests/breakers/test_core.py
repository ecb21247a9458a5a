"""The breaker's core: a closed breaker decides alone, and processes share one record."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.breakers import BreakerConfig, CircuitBreaker, CircuitOpenError
from django_stability.breakers._registry import config_for
from django_stability.state import Engine
from tests.breakers.support import Api, fail


async def test_a_closed_success_costs_no_store_call(clock):
    """Between refreshes a closed breaker decides alone: one store call per staleness period."""

    class CountingEngine(Engine):
        calls = 0

        def run(self, *args, **kwargs):
            CountingEngine.calls += 1
            return super().run(*args, **kwargs)

    b = CircuitBreaker(
        "c", BreakerConfig(), clock=clock, engine=CountingEngine(clock=clock)
    )
    fn = b(lambda: 1)
    fn()
    before = CountingEngine.calls
    for _ in range(1_000):
        fn()
    assert CountingEngine.calls == before
    clock.advance(1.0)
    fn()
    assert CountingEngine.calls == before + 1
    assert b.snapshot().calls == 1_002


async def test_two_processes_share_one_breaker(make_breaker, clock):
    """Failures seen by one worker open the breaker for another within the staleness bound."""
    one, two = make_breaker("shared"), make_breaker("shared")
    assert two.state == "closed"
    await fail(Api("call"), one, 5)
    assert two.state == "closed"  # its view is still fresh
    clock.advance(1.0)
    assert two.state == "open"
    with pytest.raises(CircuitOpenError):
        two.call(lambda: 1)


async def test_successes_of_all_processes_count_in_the_rate(make_breaker, clock):
    """Each process's successes reach the shared window, so a rate is judged cluster-wide."""
    one, two = (
        make_breaker("rate", failure_rate=50, minimum_calls=10),
        make_breaker("rate", failure_rate=50, minimum_calls=10),
    )
    for _ in range(6):
        one.call(lambda: 1)
        two.call(lambda: 1)
    clock.advance(1.0)
    assert (one.state, two.state) == ("closed", "closed")  # both flush their successes
    await fail(Api("call"), one, 5)
    assert one.snapshot().as_json()["failure_rate"] == round(5 * 100 / 17, 2)
    assert one.state == "closed"


def test_a_misconfigured_breaker_refuses_to_run(clock):
    """An invalid STABILITY_BREAKERS entry is ImproperlyConfigured on use, not a silent default."""
    b = CircuitBreaker(
        "core-bad", clock=clock, engine=Engine(clock=clock), load_config=config_for
    )
    with override_settings(STABILITY_BREAKERS={"core-bad": {"window": 0}}):
        with pytest.raises(
            ImproperlyConfigured, match=r"\['window'\] must be a positive"
        ):
            b.call(lambda: 1)
        with pytest.raises(ImproperlyConfigured):
            b.state  # noqa: B018
    b.invalidate()  # override_settings left: the setting is gone
    assert b.call(lambda: 1) == 1
