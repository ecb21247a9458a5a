"""Snapshot: a breaker's state and statistics as operators see them."""

from __future__ import annotations

from typing import Any

from django_stability.breakers import BreakerConfig
from django_stability.breakers._snapshot import snapshot_of
from django_stability.breakers._store import Record


def record(**fields: Any) -> Record:
    values = {"state": 0, "forced": 0, "underlying": 0, "opened_at": 0, "gen": 0}
    values.update(calls=0, failures=0, slow=0, trial_successes=0, in_flight=0)
    values.update(granted=False, changed_from=-1, fresh=False)
    return Record(**{**values, **fields})


def test_a_breaker_never_used_is_closed_and_empty():
    """No shared record yet: closed, no counts, no times."""
    data = snapshot_of("s", BreakerConfig(), None, None).as_json()
    assert (data["state"], data["calls"], data["opened_at"], data["retry_at"]) == (
        "closed", 0, None, None,
    )  # fmt: skip


def test_the_failure_rate_shows_once_minimum_calls_were_made():
    """Below ``minimum_calls`` the rate is ``None``; from there a percentage."""
    config = BreakerConfig(minimum_calls=4)
    assert (
        snapshot_of("s", config, record(calls=3, failures=1), None).failure_rate is None
    )
    assert (
        snapshot_of("s", config, record(calls=8, failures=1), None).failure_rate == 12.5
    )


def test_an_open_breaker_shows_when_it_opened_and_when_it_retries():
    """Times are ISO 8601 in UTC; ``retry_at`` only while open."""
    opened = record(state=1, opened_at=1_800_000_000_000)
    data = snapshot_of("s", BreakerConfig(), opened, 1_800_000_030.0).as_json()
    assert data["opened_at"] == "2027-01-15T08:00:00+00:00"
    assert data["retry_at"] == "2027-01-15T08:00:30+00:00"
    half = snapshot_of("s", BreakerConfig(), record(state=2, opened_at=1), 5.0)
    assert half.retry_at is None
