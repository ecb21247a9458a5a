"""Answering a counted hit: the 429, the fail-closed 503, the ``RateLimit-*`` headers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

from django.http import HttpResponse
from django.http.response import HttpResponseBase

from django_stability import metrics
from django_stability.checks._rates import Rate
from django_stability.errors import problem_response
from django_stability.logging import get_logger
from django_stability.ratelimit._core import Usage
from django_stability.runtime import runtime
from django_stability.state import Engine

_log = get_logger("django_stability.ratelimit")

#: Seconds between two "counting locally" log lines of one process during an outage.
OUTAGE_LOG_INTERVAL: Final = 60.0
#: Retry-After of a fail-closed 503 when the engine cannot say when it retries.
DEFAULT_RETRY_AFTER: Final = 1


class _OutageLog:
    """Logs at most one line per interval and process while counts are local.

    Once per outage would be quieter, but a process that only serves limited
    requests now and then would then never say the outage is still going on.
    """

    def __init__(self) -> None:
        self.last = -math.inf

    def __call__(self, fail_open: bool, clock: Callable[[], float]) -> None:
        now = clock()
        if now - self.last < OUTAGE_LOG_INTERVAL:
            return
        self.last = now
        if fail_open:
            _log.warning(
                "ratelimit_degraded",
                fail_open=True,
                detail="shared state unavailable: rate limits count in each process only",
            )
        else:
            _log.error(
                "ratelimit_degraded",
                fail_open=False,
                detail="shared state unavailable: limited requests are refused with 503",
            )

    def reset(self) -> None:
        self.last = -math.inf


outage_log = _OutageLog()
# A new configuration (override_settings, a new engine) deserves its own first line.
runtime.on_reset(outage_log.reset)


def refusal(
    engine: Engine, usage: Usage, rate: Rate, group: str, *, fail_open: bool
) -> HttpResponse | None:
    """The response refusing this hit, or ``None`` to let it through.

    Over the limit: 429. Counted locally because Redis is unreachable: the
    local count decides when failing open, a 503 when failing closed; both log.
    """
    if not usage.shared:
        outage_log(fail_open, time.monotonic)
        if not fail_open:
            return degraded_response(engine, group)
    if usage.limited:
        return limited_response(usage, rate, group)
    return None


def usage_headers(usage: Usage) -> dict[str, str]:
    """``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``."""
    return {
        "RateLimit-Limit": str(usage.limit),
        "RateLimit-Remaining": str(usage.remaining),
        "RateLimit-Reset": str(usage.reset),
    }


def with_headers(response: HttpResponseBase, usage: Usage | None) -> HttpResponseBase:
    """``response`` with the ``RateLimit-*`` headers of ``usage``, unless the view set them."""
    if usage is not None:
        for name, value in usage_headers(usage).items():
            response.headers.setdefault(name, value)
    return response


def limited_response(usage: Usage, rate: Rate, group: str) -> HttpResponse:
    """The 429 problem response, with ``Retry-After`` and the ``RateLimit-*`` headers."""
    metrics.ratelimited.labels(group, "limited").inc()
    per = "second" if rate.seconds == 1 else f"{rate.seconds} seconds"
    return problem_response(
        429,
        detail=f"Too many requests: at most {rate.count} per {per}; "
        f"retry in {usage.reset} s.",
        retry_after=usage.reset,
        headers=usage_headers(usage),
    )


def degraded_response(engine: Engine, group: str) -> HttpResponse:
    """The fail-closed 503 problem response, retried when the engine next tries Redis."""
    metrics.ratelimited.labels(group, "unavailable").inc()
    retry_in = engine.status().retry_in
    return problem_response(
        503,
        code="ratelimit_unavailable",
        detail="Rate limits cannot be checked right now; retry later.",
        retry_after=max(DEFAULT_RETRY_AFTER, math.ceil(retry_in or 0)),
    )
