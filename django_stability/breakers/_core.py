"""The base of the circuit breaker: admission and outcomes against a locally cached view of shared state.

A closed breaker decides locally: its view of the shared record is trusted
for ``staleness`` seconds, successes are only counted in memory, and the next
refresh (at most once per ``staleness`` per process) sends them to the
shared record together with a read of its state. Failures, slow calls, trial
outcomes and operator actions reach the shared record at once, in one atomic
step that also decides any transition (``_store.STEP``).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django_stability.breakers import _machine as m
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._snapshot import Snapshot, snapshot_of
from django_stability.breakers._store import STEP, Record, keys_for
from django_stability.logging import get_logger
from django_stability.metrics import (
    BREAKER_STATE_VALUES,
    breaker_calls,
    breaker_state,
    breaker_transitions,
)
from django_stability.state import Engine, get_engine

log = get_logger("django_stability.breakers")

#: Seconds a process trusts its cached view of a breaker before reading the shared state again.
STALENESS = 1.0

#: While a process is refused a trial permit, it asks again after this many seconds.
_ACQUIRE_BACKOFF = 0.1


@dataclass(frozen=True, slots=True)
class _View:
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


_UNKNOWN = _View(None, 0.0, 0.0, None, None, False)


class BreakerCore:
    """State handling shared by the sync and async call paths of :class:`CircuitBreaker`."""

    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        engine: Engine | None = None,
        staleness: float = STALENESS,
        load_config: Callable[[str], BreakerConfig] | None = None,
    ) -> None:
        self.name = name
        self.clock = clock
        self.staleness = staleness
        self._explicit_config = config
        self._load_config = load_config
        self._config: BreakerConfig | None = None
        self._limit_args: list[Any] | None = None
        self._explicit_engine = engine
        self._keys = keys_for(name)
        self._view = _UNKNOWN
        # Successes since the last flush, counted without a lock: next() on
        # itertools.count is atomic under the GIL.
        self._successes = itertools.count()
        self._flushed = 0
        self._count_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._active: ContextVar[tuple[tuple[str, float, Any], ...]] = ContextVar(
            f"breaker:{name}", default=()
        )
        self._calls_metric = {
            outcome: breaker_calls.labels(name, outcome)
            for outcome in (
                "success",
                "failure",
                "slow",
                "ignored",
                "rejected",
                "fallback",
            )
        }

    # Configuration -----------------------------------------------------------

    @property
    def config(self) -> BreakerConfig:
        """The options in force (from ``STABILITY_BREAKERS`` unless given explicitly)."""
        config = self._config
        if config is None:
            if self._explicit_config is not None:
                config = self._explicit_config
            elif self._load_config is not None:
                config = self._load_config(self.name)
            else:
                config = BreakerConfig()
            self._config = config
            self._limit_args = config.limits().args()
        return config

    @property
    def engine(self) -> Engine:
        return self._explicit_engine or get_engine()

    def invalidate(self) -> None:
        """Forget the cached options and view (settings changed)."""
        self._config = None
        self._limit_args = None
        self._view = _UNKNOWN

    # Shared state ------------------------------------------------------------

    def _args(
        self,
        now: float,
        mode: str,
        *,
        calls: int = 0,
        failures: int = 0,
        slow: int = 0,
        token: str = "",
        outcome: int = m.NEUTRAL,
    ) -> list[Any]:
        self.config  # noqa: B018 - fills _limit_args when the options were reset
        assert self._limit_args is not None
        event = [math.floor(now * 1000), mode, calls, failures, slow, token, outcome]
        return event + self._limit_args

    def _take_successes(self) -> int:
        with self._count_lock:
            counted = next(self._successes)
            taken = counted - self._flushed
            self._flushed = counted + 1
        if taken:
            self._calls_metric["success"].inc(taken)
        return taken

    def _step(self, now: float, mode: str, **event: Any) -> Record | None:
        try:
            return self.engine.run(STEP, self._keys, self._args(now, mode, **event))
        except Exception:  # bookkeeping must never fail the protected call
            log.exception("breaker_state_error", breaker=self.name)
            return None

    async def _astep(self, now: float, mode: str, **event: Any) -> Record | None:
        try:
            return await self.engine.arun(
                STEP, self._keys, self._args(now, mode, **event)
            )
        except Exception:  # bookkeeping must never fail the protected call
            log.exception("breaker_state_error", breaker=self.name)
            return None

    def _fallback(self, refused: CircuitOpenError) -> Callable[..., Any]:
        """The fallback that answers a refused call; re-raises ``refused`` when there is none."""
        fallback = self.config.fallback
        if fallback is None:
            raise refused
        self._calls_metric["fallback"].inc()
        return fallback

    def _apply(
        self, record: Record | None, now: float, *, denied: bool = False
    ) -> tuple[_View, tuple[str, str] | None]:
        """Cache what the shared record says; return the view and the transition this process made."""
        if (
            record is None
        ):  # the store failed: keep believing the last view a while longer
            old = self._view
            view = _View(
                old.record,
                now + self.staleness,
                now + self.staleness if old.state == m.CLOSED else 0.0,
                old.retry_at,
                old.slow_seconds,
                old.plain,
            )
            self._view = view
            return view, None
        config = self.config
        retry_at: float | None = None
        if record.state == m.OPEN and record.forced != m.FORCED_OPEN:
            retry_at = record.opened_at / 1000 + config.reset_timeout
        elif record.state == m.HALF_OPEN:
            retry_at = now + _ACQUIRE_BACKOFF if denied else now
        valid_until = now + self.staleness
        view = _View(
            record,
            valid_until,
            valid_until if record.state == m.CLOSED else 0.0,
            retry_at,
            config.slow_call_seconds,
            config.slow_call_seconds is None and config.call_timeout is None,
        )
        previous = self._view.record
        self._view = view
        if previous is None or previous.state != record.state:
            breaker_state.labels(self.name).set(BREAKER_STATE_VALUES[record.state_name])
        if record.fresh and not self.engine.healthy:
            log.warning(
                "breaker_process_local",
                breaker=self.name,
                detail="shared state unreachable; this breaker counts and decides in this process only",
            )
        if record.changed_from < 0:
            return view, None
        old_name, new_name = m.STATE_NAMES[record.changed_from], record.state_name
        breaker_transitions.labels(self.name, new_name).inc()
        level = log.warning if new_name == "open" else log.info
        level(
            "breaker_state_changed",
            breaker=self.name,
            old=old_name,
            new=new_name,
            forced=record.forced_name,
            failures=record.failures,
            calls=record.calls,
            pid=os.getpid(),
        )
        return view, (old_name, new_name)

    # Admission ---------------------------------------------------------------

    def _decide(self, view: _View, now: float) -> str | None:
        """``""`` admits as closed, ``None`` means a trial permit must be asked for; raises when refused."""
        if view.state == m.CLOSED:
            return ""
        if view.retry_at is None or now < view.retry_at:
            self._calls_metric["rejected"].inc()
            raise CircuitOpenError(self.name, view.retry_at, now)
        return None

    def _granted(self, record: Record | None, view: _View, now: float) -> str:
        if record is not None and record.granted:
            return "" if record.state == m.CLOSED else "trial"
        self._calls_metric["rejected"].inc()
        raise CircuitOpenError(self.name, view.retry_at, now)

    # Outcomes ----------------------------------------------------------------

    def _outcome(
        self, exc: BaseException | None, started: float, now: float
    ) -> tuple[int, bool]:
        """``(outcome, slow)`` of a finished call."""
        if exc is None:
            outcome = m.SUCCESS
        elif not isinstance(exc, Exception) or isinstance(exc, self.config.exclude):
            # Cancellation, KeyboardInterrupt, excluded errors: not the dependency's fault.
            self._calls_metric["ignored"].inc()
            return m.NEUTRAL, False
        else:
            outcome = m.FAILURE
        limit = self._view.slow_seconds
        slow = limit is not None and now - started >= limit
        if outcome == m.FAILURE:
            self._calls_metric["failure"].inc()
        if slow:
            self._calls_metric["slow"].inc()
        return outcome, slow

    # Operators ---------------------------------------------------------------

    def _snapshot(self, record: Record | None, now: float) -> Snapshot:
        view = self._view
        return snapshot_of(self.name, self.config, record or view.record, view.retry_at)
