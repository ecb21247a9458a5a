"""What a breaker tells the world: the signal, log lines and metrics of its transitions."""

from __future__ import annotations

import pytest

from django_stability.breakers import BreakerConfig, CircuitBreaker, CircuitOpenError
from django_stability.state import Engine
from tests.breakers.support import Boom, raiser
from tests.logcapture import capture_logs


def test_log_line_and_snapshot_of_a_transition(make_breaker, clock):
    """A transition logs one line with the breaker's name, and the snapshot shows it (the signal: tests/test_signals.py)."""
    b = make_breaker("sig", failure_threshold=2, reset_timeout=10)
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises((Boom, CircuitOpenError)):
                b.call(raiser(Boom()))
    line = logs.one("breaker_state_changed", breaker="sig")
    assert (line["old"], line["new"], line["level"]) == ("closed", "open", "warning")
    data = b.snapshot().as_json()
    assert data["state"] == "open" and data["forced"] is None
    assert data["opened_at"].startswith("2027-01-15") and data["retry_at"]
    assert data["config"]["failure_threshold"] == 2


def test_works_process_locally_when_redis_is_unreachable(clock):
    """With Redis unreachable the breaker still trips (on process-local state) and says so."""
    from tests.fixtures.redis_server import free_port

    engine = Engine(
        f"redis://127.0.0.1:{free_port()}/0", clock=clock, connect_timeout=0.2
    )
    b = CircuitBreaker(
        "local", BreakerConfig(failure_threshold=2), clock=clock, engine=engine
    )
    with capture_logs() as logs:
        for _ in range(2):
            with pytest.raises(Boom):
                b.call(raiser(Boom()))
        assert b.state == "open"
    assert logs.events("breaker_process_local", breaker="local")
    engine.close()


def test_metrics_count_transitions_calls_and_state(make_breaker, clock):
    """Prometheus sees each transition once, the calls by outcome, and the state as a gauge."""
    from prometheus_client import REGISTRY

    def value(metric: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    name = f"metrics-{id(clock)}"
    b = make_breaker(name, failure_threshold=2, reset_timeout=5)
    for _ in range(3):
        b.call(lambda: 1)
    for _ in range(2):
        with pytest.raises(Boom):
            b.call(raiser(Boom()))
    with pytest.raises(CircuitOpenError):
        b.call(lambda: 1)
    assert value("stability_breaker_transitions_total", breaker=name, to="open") == 1
    assert value("stability_breaker_state", breaker=name) == 1
    assert value("stability_breaker_calls_total", breaker=name, outcome="failure") == 2
    assert value("stability_breaker_calls_total", breaker=name, outcome="rejected") == 1
    assert value("stability_breaker_calls_total", breaker=name, outcome="success") == 3
    clock.advance(5)
    b.call(lambda: 1)
    assert value("stability_breaker_state", breaker=name) == 0
    assert value("stability_breaker_transitions_total", breaker=name, to="closed") == 1
