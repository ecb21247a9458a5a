"""What a breaker tells the world: its log lines and its metrics."""

from __future__ import annotations

import os

from django_stability.breakers import _machine as m
from django_stability.breakers._store import Record
from django_stability.logging import get_logger
from django_stability.metrics import (
    BREAKER_STATE_VALUES,
    breaker_calls,
    breaker_state,
    breaker_transitions,
)

log = get_logger("django_stability.breakers")

OUTCOMES = ("success", "failure", "slow", "ignored", "rejected", "fallback")


class Events:
    """The log lines and metrics of breaker ``name``; ``calls[outcome].inc()`` counts a call."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = {
            outcome: breaker_calls.labels(name, outcome) for outcome in OUTCOMES
        }

    def seen(
        self, previous: Record | None, record: Record, *, local: bool
    ) -> tuple[str, str] | None:
        """Report ``record``, just read (``local``: made anew in process memory); the transition it made, if any."""
        if previous is None or previous.state != record.state:
            breaker_state.labels(self.name).set(BREAKER_STATE_VALUES[record.state_name])
        if local:
            log.warning(
                "breaker_process_local",
                breaker=self.name,
                detail="shared state unreachable; this breaker counts and decides in this process only",
            )
        if record.changed_from < 0:
            return None
        old, new = m.STATE_NAMES[record.changed_from], record.state_name
        breaker_transitions.labels(self.name, new).inc()
        (log.warning if new == "open" else log.info)(
            "breaker_state_changed",
            breaker=self.name,
            old=old,
            new=new,
            forced=record.forced_name,
            failures=record.failures,
            calls=record.calls,
            pid=os.getpid(),
        )
        return old, new

    def store_failed(self) -> None:
        """Log that the shared state answered with an error (the call goes on without it)."""
        log.exception("breaker_state_error", breaker=self.name)
