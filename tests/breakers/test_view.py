"""The view a process keeps of a breaker: how long it trusts it, and when it asks again."""

from __future__ import annotations

from django_stability.breakers import BreakerConfig
from django_stability.breakers import _machine as m
from django_stability.breakers._view import UNKNOWN, held, seen
from tests.breakers.test_snapshot import record


def test_a_closed_record_is_trusted_for_the_staleness():
    """Closed: admitted without asking until ``staleness`` seconds from now."""
    view = seen(record(), 100.0, 1.0, BreakerConfig(), denied=False)
    assert (view.state, view.valid_until, view.closed_until) == (m.CLOSED, 101.0, 101.0)
    assert view.plain and view.slow_seconds is None


def test_an_open_record_retries_after_the_reset_timeout():
    """Open: trial calls from ``opened_at + reset_timeout``; forced open: never."""
    config = BreakerConfig(reset_timeout=30)
    view = seen(record(state=1, opened_at=50_000), 60.0, 1.0, config, denied=False)
    assert (view.retry_at, view.closed_until) == (80.0, 0.0)
    forced = record(state=1, forced=m.FORCED_OPEN, opened_at=50_000)
    assert seen(forced, 60.0, 1.0, config, denied=False).retry_at is None


def test_a_process_refused_a_permit_waits_before_asking_again():
    """Half-open: ask now, or 0.1 s later after a refused permit."""
    half = record(state=2)
    assert seen(half, 10.0, 1.0, BreakerConfig(), denied=False).retry_at == 10.0
    assert seen(half, 10.0, 1.0, BreakerConfig(), denied=True).retry_at == 10.1


def test_a_store_that_fails_extends_the_last_view():
    """No answer from the store: the last view is believed ``staleness`` seconds more."""
    view = held(UNKNOWN, 5.0, 1.0)
    assert (view.state, view.valid_until, view.closed_until) == (m.CLOSED, 6.0, 6.0)
    assert (
        held(
            seen(record(state=1), 5.0, 1.0, BreakerConfig(), denied=False), 7.0, 1.0
        ).closed_until
        == 0.0
    )
