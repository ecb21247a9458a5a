"""What a process believes about a breaker, and until when: the view that lets a closed breaker decide alone."""

from __future__ import annotations

from dataclasses import dataclass

from django_stability.breakers import _machine as m
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._store import Record

#: Seconds a process trusts its cached view of a breaker before reading the shared state again.
STALENESS = 1.0

#: While a process is refused a trial permit, it asks again after this many seconds.
_ACQUIRE_BACKOFF = 0.1


@dataclass(frozen=True, slots=True)
class View:
    """What a process believes about a breaker, and until when it believes it."""

    record: Record | None
    valid_until: float
    # ``valid_until`` while closed, else 0: the hot path's single comparison.
    closed_until: float
    # Open: when to ask for a trial permit (None while forced open).
    retry_at: float | None
    slow_seconds: float | None
    # Neither timed nor time-limited: the async hot path applies.
    plain: bool

    @property
    def state(self) -> int:
        return self.record.state if self.record is not None else m.CLOSED


UNKNOWN = View(None, 0.0, 0.0, None, None, False)


def held(old: View, now: float, staleness: float) -> View:
    """``old``, believed ``staleness`` seconds more (the shared state could not be read)."""
    return View(
        old.record,
        now + staleness,
        now + staleness if old.state == m.CLOSED else 0.0,
        old.retry_at,
        old.slow_seconds,
        old.plain,
    )


def seen(
    record: Record, now: float, staleness: float, config: BreakerConfig, *, denied: bool
) -> View:
    """The view of a shared record just read; ``denied``: this process was refused a trial permit."""
    retry_at: float | None = None
    if record.state == m.OPEN and record.forced != m.FORCED_OPEN:
        retry_at = record.opened_at / 1000 + config.reset_timeout
    elif record.state == m.HALF_OPEN:
        retry_at = now + _ACQUIRE_BACKOFF if denied else now
    valid_until = now + staleness
    return View(
        record,
        valid_until,
        valid_until if record.state == m.CLOSED else 0.0,
        retry_at,
        config.slow_call_seconds,
        config.slow_call_seconds is None and config.call_timeout is None,
    )
