"""``check_dependencies``: run the startup checks until they pass or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable

from django_stability.health import _workers
from django_stability.health._probes import startup_checks
from django_stability.health._runner import Report, run_checks
from django_stability.health._settings import parsed

#: Attempts at most, however long ``wait`` is.
MAX_ATTEMPTS = 1000
_FIRST_DELAY, _MAX_DELAY = 0.5, 5.0


def _once() -> Report:
    timeout = parsed("health_timeout")
    try:
        return _workers.run_sync(
            run_checks(startup_checks(), seconds=timeout), timeout + 1.0
        )
    except TimeoutError:  # pragma: no cover - only if the health loop is starved
        return Report("fail", {})


def check_dependencies(
    wait: float = 0.0,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
    on_attempt: Callable[[Report], object] | None = None,
) -> Report:
    """Run migrations and the readiness checks, retrying for up to ``wait`` seconds.

    Retries back off from 0.5 s to 5 s between attempts. The last report is
    returned, passing or not.

    Args:
        wait: Seconds to keep retrying while a check fails; 0 tries once.
        clock: Monotonic seconds (tests inject a fake one).
        sleep: How to wait between attempts.
        on_attempt: Called with each failed report before waiting again.
    """
    deadline = clock() + wait
    delay = _FIRST_DELAY
    report = _once()
    for _ in range(MAX_ATTEMPTS - 1):
        left = deadline - clock()
        if report.status == "ok" or left <= 0:
            break
        if on_attempt is not None:
            on_attempt(report)
        sleep(min(delay, left))
        delay = min(delay * 2, _MAX_DELAY)
        report = _once()
    return report
