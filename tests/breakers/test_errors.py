"""CircuitOpenError: who refused, and for how long."""

from __future__ import annotations

from django_stability.breakers import CircuitOpenError


def test_retry_after_is_whole_seconds_and_at_least_one():
    """``retry_after`` rounds up, never below 1; the message says when to retry."""
    refused = CircuitOpenError("payments", retry_at=100.2, now=90.0)
    assert (refused.name, refused.retry_at, refused.retry_after) == (
        "payments",
        100.2,
        11,
    )
    assert str(refused) == "circuit breaker 'payments' is open (retry in 11s)"
    assert CircuitOpenError("p", retry_at=90.0, now=90.5).retry_after == 1


def test_forced_open_has_no_retry_time():
    """Forced open: no retry time, and the message says an operator must release it."""
    refused = CircuitOpenError("payments", retry_at=None, now=90.0)
    assert refused.retry_after is None
    assert "until an operator releases it" in str(refused)
