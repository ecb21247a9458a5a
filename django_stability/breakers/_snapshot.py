"""A breaker's state and statistics, as operators see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django_stability.breakers import _machine as m
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._store import Record


@dataclass(frozen=True)
class Snapshot:
    """A breaker's state and statistics, as the admin, the JSON API and health checks show them.

    .. versionadded:: 0.1
    """

    name: str
    state: str
    forced: str | None
    failure_rate: float | None
    calls: int
    failures: int
    slow_calls: int
    in_flight_trials: int
    opened_at: datetime | None
    retry_at: datetime | None
    config: BreakerConfig

    def as_json(self) -> dict[str, Any]:
        """The breaker JSON of the HTTP API."""
        return {
            "name": self.name,
            "state": self.state,
            "forced": self.forced,
            "failure_rate": self.failure_rate,
            "calls": self.calls,
            "failures": self.failures,
            "slow_calls": self.slow_calls,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
            "config": self.config.as_json(),
        }


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def snapshot_of(
    name: str, config: BreakerConfig, record: Record | None, retry_at: float | None
) -> Snapshot:
    """The snapshot of breaker ``name`` whose shared record is ``record`` (``None``: never used)."""
    if record is None:
        return Snapshot(name, "closed", None, None, 0, 0, 0, 0, None, None, config)
    rate = None
    if record.calls and record.calls >= config.minimum_calls:
        rate = round(record.failures * 100 / record.calls, 2)
    return Snapshot(
        name=name,
        state=record.state_name,
        forced=record.forced_name,
        failure_rate=rate,
        calls=record.calls,
        failures=record.failures,
        slow_calls=record.slow,
        in_flight_trials=record.in_flight,
        opened_at=_when(record.opened_at / 1000)
        if record.state != m.CLOSED and record.opened_at
        else None,
        retry_at=_when(retry_at) if record.state == m.OPEN else None,
        config=config,
    )
