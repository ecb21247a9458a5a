"""Whether Redis is usable now: outage detection, backoff, and logging once per outage."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("django_stability.state")


def describe(exc: BaseException) -> str:
    """``Type: message`` of an error, bounded, for logs and status."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:299] + "…"


class Availability:
    """Up/down bookkeeping shared by every thread and event loop of one engine (``docs/shared-state.rst``, "Degrade behaviour")."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        retry_after: float,
        max_retry_after: float,
        target: str,
        on_recover: Callable[[], None],
        outages: tuple[type[Exception], ...] = (),
        errors: tuple[type[Exception], ...] = (),
    ) -> None:
        #: What counts as an outage, and as any other Redis error (an answer).
        self.outages, self.errors = outages, errors
        self.down = False
        self.error: str | None = None
        self.since = 0.0
        self.retry_at = 0.0
        self._clock = clock
        self._first_delay = retry_after
        self._max_delay = max_retry_after
        self._delay = retry_after
        self._probing = False
        self._target = target
        self._on_recover = on_recover
        self._lock = threading.Lock()

    def admit(self, *, force: bool = False) -> bool | None:
        """``False``: call Redis; ``True``: call Redis as the probe; ``None``: do not."""
        if not self.down:
            return False
        with self._lock:
            if (
                not self._is_down()
            ):  # pragma: no cover - another thread ended the outage meanwhile
                return False
            if force or (not self._probing and self._clock() >= self.retry_at):
                self._probing = True
                return True
            return None

    def _is_down(self) -> bool:
        return self.down

    def failed(self, exc: BaseException, probe: bool) -> None:
        """Record that a call admitted by :meth:`admit` hit an outage error."""
        now = self._clock()
        with self._lock:
            self.error = describe(exc)
            if not self.down:
                self.down = True
                self.since = now
                self._delay = self._first_delay
                self.retry_at = now + self._delay
                logger.warning(
                    "Shared-state Redis at %s is unreachable (%s); using process-local state, retrying in %.1fs",
                    self._target,
                    self.error,
                    self._delay,
                )
            elif probe:
                self._probing = False
                self._delay = min(self._delay * 2, self._max_delay)
                self.retry_at = now + self._delay
                logger.debug(
                    "Shared-state Redis still unreachable (%s); next try in %.1fs",
                    self.error,
                    self._delay,
                )

    def succeeded(self, probe: bool) -> None:
        """Record that Redis answered a call; only the probe ends an outage."""
        if not probe:
            return
        now = self._clock()
        with self._lock:
            self._probing = False
            if not self.down:
                return
            self.down = False
            self._delay = self._first_delay
            logger.info(
                "Shared-state Redis at %s is reachable again after %.1fs; process-local state discarded",
                self._target,
                now - self.since,
            )
            self._on_recover()

    def release(self) -> None:
        """Give up the probe without a verdict (the call was cancelled)."""
        with self._lock:
            self._probing = False


class Attempt:
    """One Redis call accounted for: an outage error is recorded in ``error`` and swallowed."""

    __slots__ = ("availability", "error", "probe", "reply")

    def __init__(self, availability: Availability, probe: bool) -> None:
        self.availability = availability
        self.probe = probe
        self.reply: Any = None
        self.error: BaseException | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        avail, probe = self.availability, self.probe
        try:
            if isinstance(exc, avail.outages):
                avail.failed(exc, probe)
                self.error = exc
                return True
            if exc is None or isinstance(exc, avail.errors):
                avail.succeeded(probe)  # Redis answered, if only with an error
            return False
        finally:
            if probe:
                avail.release()
