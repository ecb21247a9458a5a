"""The base of the circuit breaker: admission and outcomes, decided against a cached view of the shared state."""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Generator
from contextvars import ContextVar
from typing import Any, TypeVar

from django_stability.breakers import _machine as m
from django_stability.breakers._config import BreakerConfig
from django_stability.breakers._errors import CircuitOpenError
from django_stability.breakers._events import Events
from django_stability.breakers._snapshot import Snapshot, snapshot_of
from django_stability.breakers._store import Record, keys_for
from django_stability.breakers._view import STALENESS, UNKNOWN, View, held, seen
from django_stability.state import Engine, get_engine

# The operator actions in the state machine's terms.
COMMANDS = {
    "open": m.FORCE_OPEN,
    "close": m.FORCE_CLOSE,
    "reset": m.RESET,
    "release": m.RELEASE,
}

# The I/O the steps below yield to their driver, and what the driver sends back:
# ``(STORE, args)`` -> the shared record after ``STEP`` with ``args``, or
# ``None`` when the store failed; ``(SIGNAL, (old, new))`` -> ``None`` once
# ``breaker_state_changed`` is sent; ``(FORCED, None)`` -> the action that
# re-applies the forced state kept in the database, or ``None``.
STORE, SIGNAL, FORCED = 0, 1, 2

T = TypeVar("T")
#: A behaviour of the breaker written once: the sync and async paths drive it.
Steps = Generator[tuple[int, Any], Any, T]


class BreakerCore:
    """The behaviour shared by the sync and async paths of :class:`CircuitBreaker`.

    Its ``Steps`` methods decide everything and yield the I/O they need
    (``STORE``, ``SIGNAL``, ``FORCED``); the class's drivers do that I/O in the
    caller's thread or on its event loop.
    """

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
        self._limit_args: list[Any] = []
        self._explicit_engine = engine
        self._keys = keys_for(name)
        self._view = UNKNOWN
        # Successes since the last flush, counted without a lock: next() on
        # itertools.count is atomic under the GIL.
        self._successes = itertools.count()
        self._flushed = 0
        self._count_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._active: ContextVar[tuple[tuple[str, float, Any], ...]] = ContextVar(
            f"breaker:{name}", default=()
        )
        self._events = Events(name)
        self._calls_metric = self._events.calls

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
            self._limit_args = config.limits().args()
            self._config = config
        return config

    @property
    def engine(self) -> Engine:
        return self._explicit_engine or get_engine()

    def invalidate(self) -> None:
        """Forget the cached options and view (settings changed)."""
        self._config = None
        self._view = UNKNOWN

    def _args(self, now: float, mode: str, **event: Any) -> list[Any]:
        """The arguments of ``STEP`` for one event (``calls``, ``failures``, ``slow``, ``token``, ``outcome``)."""
        self.config  # noqa: B018 - fills _limit_args when the options were reset
        return [
            math.floor(now * 1000),
            mode,
            event.get("calls", 0),
            event.get("failures", 0),
            event.get("slow", 0),
            event.get("token", ""),
            event.get("outcome", m.NEUTRAL),
            *self._limit_args,
        ]

    def _take_successes(self) -> int:
        with self._count_lock:
            counted = next(self._successes)
            taken = counted - self._flushed
            self._flushed = counted + 1
        if taken:
            self._calls_metric["success"].inc(taken)
        return taken

    def _refused(
        self,
        refused: CircuitOpenError,
        counts: Callable[[BaseException], bool] | None,
        otherwise: Callable[[Exception], Any] | None,
    ) -> Callable[..., Any]:
        """What answers a refused call: ``otherwise``, else the fallback; raises ``refused`` when neither applies."""
        if otherwise is not None:
            return lambda *args, **kwargs: otherwise(refused)
        fallback = self.config.fallback
        if counts is not None or fallback is None:
            raise refused
        self._calls_metric["fallback"].inc()
        return fallback

    def _apply(
        self, record: Record | None, now: float, *, denied: bool = False
    ) -> tuple[View, tuple[str, str] | None]:
        """Cache what the shared record says; return the view and the transition this process made."""
        if record is None:
            # The store failed: keep believing the last view a while longer.
            self._view = view = held(self._view, now, self.staleness)
            return view, None
        previous = self._view.record
        self._view = view = seen(
            record, now, self.staleness, self.config, denied=denied
        )
        local = record.fresh and not self.engine.healthy
        return view, self._events.seen(previous, record, local=local)

    def _decide(self, view: View, now: float) -> str | None:
        """``""`` admits as closed, ``None`` means a trial permit must be asked for; raises when refused."""
        if view.state == m.CLOSED:
            return ""
        if view.retry_at is None or now < view.retry_at:
            self._calls_metric["rejected"].inc()
            raise CircuitOpenError(self.name, view.retry_at, now)
        return None

    def _granted(self, record: Record | None, view: View, now: float) -> str:
        if record is not None and record.granted:
            return "" if record.state == m.CLOSED else "trial"
        self._calls_metric["rejected"].inc()
        raise CircuitOpenError(self.name, view.retry_at, now)

    def _settled(self, token: str, exc: BaseException | None) -> bool:
        """Count a plain success in memory (``True``); ``False`` when the outcome needs steps."""
        if exc is None and not token and self._view.slow_seconds is None:
            next(self._successes)
            return True
        return False

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
            self._calls_metric["failure"].inc()
        limit = self._view.slow_seconds
        slow = limit is not None and now - started >= limit
        if slow:
            self._calls_metric["slow"].inc()
        return outcome, slow

    def _snapshot(self, record: Record | None) -> Snapshot:
        view = self._view
        return snapshot_of(self.name, self.config, record or view.record, view.retry_at)

    # Steps, written once ------------------------------------------------------

    def _run(
        self, now: float, mode: str, **event: Any
    ) -> Steps[tuple[Record | None, View]]:
        record = yield STORE, self._args(now, mode, **event)
        denied = mode == m.ACQUIRE and record is not None and not record.granted
        view, change = self._apply(record, now, denied=denied)
        if change is not None:
            yield SIGNAL, change
        if record is not None and record.fresh:
            # A new shared record (a restart, a Redis flush): re-apply the
            # forced state an operator set, which the database keeps.
            forced = yield FORCED, None
            if forced is not None:
                return (yield from self._run(now, m.COMMAND, outcome=COMMANDS[forced]))
        return record, view

    def _refreshed(self, now: float) -> Steps[View]:
        if not self._sync_lock.acquire(blocking=False):
            return self._view  # another thread is refreshing it right now
        try:
            run = self._run(now, m.REPORT, calls=self._take_successes())
            return (yield from run)[1]
        finally:
            self._sync_lock.release()

    def _admission(self, now: float) -> Steps[str]:
        """The call's trial token (``""`` when admitted as closed); raises when refused."""
        view = self._view
        if now >= view.valid_until:
            view = yield from self._refreshed(now)
        if (admitted := self._decide(view, now)) is not None:
            return admitted
        token = os.urandom(8).hex()
        record, view = yield from self._run(now, m.ACQUIRE, token=token)
        return token if self._granted(record, view, now) == "trial" else ""

    def _finishing(
        self, token: str, started: float, exc: BaseException | None
    ) -> Steps[None]:
        now = self.clock()
        outcome, slow = self._outcome(exc, started, now)
        if token:
            trial = m.FAILURE if slow else outcome
            yield from self._run(now, m.TRIAL, token=token, outcome=trial)
        elif outcome == m.FAILURE or slow:
            yield from self._run(
                now,
                m.REPORT,
                calls=self._take_successes() + 1,
                failures=int(outcome == m.FAILURE),
                slow=int(slow),
            )
        elif outcome == m.SUCCESS:
            next(self._successes)

    def _state_name(self) -> Steps[str]:
        now = self.clock()
        view = self._view
        if now >= view.valid_until:
            view = yield from self._refreshed(now)
        return m.STATE_NAMES[view.state]

    def _reported(self) -> Steps[Snapshot]:
        now = self.clock()
        record, _ = yield from self._run(now, m.REPORT, calls=self._take_successes())
        return self._snapshot(record)

    def _commanded(self, action: str) -> Steps[Snapshot]:
        if action not in COMMANDS:
            raise ValueError(
                f"unknown breaker action {action!r}; use one of {', '.join(COMMANDS)}"
            )
        now = self.clock()
        record, _ = yield from self._run(now, m.COMMAND, outcome=COMMANDS[action])
        return self._snapshot(record)
