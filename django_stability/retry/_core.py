"""One call's retries, decided once for the sync and the async paths: steps that yield the I/O they need."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Generator
from contextvars import ContextVar
from typing import Any, Final

import stamina
from stamina.instrumentation import (
    RetryDetails,
    get_on_retry_hooks,
    set_on_retry_hooks,
)

from django_stability import metrics
from django_stability.breakers import CircuitBreaker, CircuitOpenError
from django_stability.retry._budget import Tally
from django_stability.retry._settings import RetryConfig

#: Decides whether an exception is retried: ``False``, ``True`` (the backoff
#: with full jitter), or the seconds (or a timedelta) to wait, such as a
#: ``Retry-After``. The shape of stamina's backoff hooks.
Hook = Callable[[Exception], bool | float | dt.timedelta]

# The outcomes of stability_retries_total (docs/metrics.rst).
RETRIED: Final = "retried"
RECOVERED: Final = "recovered"
EXHAUSTED: Final = "exhausted"
BUDGET_EXHAUSTED: Final = "budget_exhausted"
BREAKER_OPEN: Final = "breaker_open"
IN_TRANSACTION: Final = "in_transaction"

# The I/O the steps yield, and what the driver sends back:
# ``(VET, exc)`` -> ``None`` when a retry is safe, else the outcome that ends it;
# ``(STATE, breaker)`` -> the breaker's state name;
# ``(SPEND, (calls, want))`` -> a ``Spent`` record, or ``None`` when the round trip failed.
VET, STATE, SPEND = 0, 1, 2

Steps = Generator[tuple[int, Any], Any, None]

logger = logging.getLogger("django_stability.retry")


def hook_for(on: Hook | type[BaseException] | tuple[type[BaseException], ...]) -> Hook:
    """``on`` as a hook: exception classes become an ``isinstance`` test."""
    if isinstance(on, type | tuple):
        classes = on

        def matches(exc: Exception) -> bool:
            return isinstance(exc, classes)

        return matches
    return on


class Call:
    """The retries of one call: what failed, what was decided, and the outcome to count.

    Args:
        name: The retry's name (metrics, budget key).
        config: Its options.
        on: What is retried.
        breaker: The breaker asked before each retry (name or object), or ``None``.
        clock: Wall-clock seconds, for the budget's window and ``timeout``.
        tally: This process's pending calls of ``name``.
    """

    __slots__ = (
        "breaker",
        "clock",
        "config",
        "envelope",
        "failed",
        "name",
        "number",
        "on",
        "outcome",
        "started",
        "tally",
        "wait",
    )

    def __init__(
        self,
        name: str,
        config: RetryConfig,
        on: Hook,
        breaker: str | CircuitBreaker | None,
        clock: Callable[[], float],
        tally: Tally,
    ) -> None:
        self.name = name
        self.config = config
        self.on = on
        self.breaker = breaker
        self.clock = clock
        self.tally = tally
        self.started = clock()
        self.failed: BaseException | None = None
        self.number = 0
        self.envelope = 0.0
        self.wait: float | None = None
        self.outcome: str | None = None

    def starting(self) -> Steps:
        """The first attempt: count the call, and send the pending calls once a tenth of a window old."""
        if self.config.budget is None:
            return
        self.tally.add()
        if self.tally.due(self.started, self.config.window):
            calls = self.tally.take(self.started)
            if (yield SPEND, (calls, False)) is None:
                self.tally.give_back(calls)  # sent with the next round trip

    def deciding(self) -> Steps:
        """After a failed attempt: whether to retry (``self.wait``) or why not (``self.outcome``)."""
        exc, config = self.failed, self.config
        self.wait, self.outcome = None, None
        if not isinstance(exc, Exception):  # cancelled, interrupted: never retried
            return
        if isinstance(exc, CircuitOpenError):
            self.outcome = BREAKER_OPEN
            return
        wanted = self.on(exc)
        if wanted is False or wanted is None:
            return
        now = self.clock()
        timeout = config.timeout
        if (
            self.number >= config.attempts
            or (timeout is not None and now - self.started >= timeout)
            or not stamina.is_active()
        ):
            self.outcome = EXHAUSTED
            return
        self.outcome = yield VET, exc
        if self.outcome is not None:
            return
        if self.breaker is not None and (yield STATE, self.breaker) != "closed":
            self.outcome = BREAKER_OPEN
            return
        if config.budget is not None:
            calls = self.tally.take(now)
            spent = yield SPEND, (calls, True)
            if spent is None:
                self.tally.give_back(calls)
            if spent is None or not spent.granted:
                self.outcome = BUDGET_EXHAUSTED
                return
        self.wait = _backoff(wanted, self.envelope)

    def verdict(self, exc: Exception) -> bool | float:
        """stamina's ``on`` hook: the wait decided for ``exc``, or ``False``."""
        if exc is self.failed and self.wait is not None:
            return self.wait
        return False

    def ended(self, exc: BaseException) -> None:
        """The call raised ``exc`` after its last attempt: count why."""
        if exc is not self.failed:
            return
        outcome = self.outcome
        if outcome is None and self.wait is not None:  # stamina stopped first
            outcome = EXHAUSTED
        if outcome is not None:
            count(self.name, outcome)

    def succeeded(self, number: int) -> None:
        if number > 1:
            count(self.name, RECOVERED)


def _backoff(wanted: bool | float | dt.timedelta, envelope: float) -> float:
    """The wait before the next attempt: the hook's own, else full jitter under stamina's envelope."""
    if isinstance(wanted, dt.timedelta):
        return max(0.0, wanted.total_seconds())
    if wanted is True:
        return random.uniform(0, envelope)  # noqa: S311 - jitter, not a secret
    return max(0.0, float(wanted))


def count(name: str, outcome: str) -> None:
    metrics.retries.labels(name, outcome).inc()


# The call whose attempts stamina is running in this context, for the hook below.
running: ContextVar[Call | None] = ContextVar("stability_retry", default=None)


def _on_retry(details: RetryDetails) -> None:
    """stamina's instrumentation hook: count a retry it scheduled for one of our calls."""
    call = running.get()
    if call is None or details.caused_by is not call.failed:
        return  # a stamina retry of someone else's
    count(call.name, RETRIED)
    logger.debug(
        "retry %s: attempt %d failed (%s), next in %.3fs",
        call.name,
        details.retry_num,
        type(details.caused_by).__name__,
        details.wait_for,
    )


def install_hook() -> None:
    """Add :func:`_on_retry` to stamina's hooks, keeping the others (again if someone replaced them)."""
    hooks = get_on_retry_hooks()
    if _on_retry not in hooks:
        set_on_retry_hooks((*hooks, _on_retry))
