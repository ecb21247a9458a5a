"""The HTTP answer of a probe, for the views and for ``with_health_probes()`` alike."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpResponse, JsonResponse

from django_stability import metrics
from django_stability.health import _workers
from django_stability.health._probes import get_probes
from django_stability.health._runner import CheckResult, Report
from django_stability.health._settings import parsed

# The caller waits this much longer than a check may take: the run's own overhead.
_GRACE = 1.0


def probe_answer(
    kind: str,
    report: Report,
    *,
    detail: bool = True,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """200 for an ``ok`` report, else 503 with ``Retry-After``; ``no-store`` either way.

    ``detail``: each check's ``ms`` and ``detail`` too (staff, the metrics token).
    A readiness answer also sets the ``stability_health_ready`` gauge.
    """
    if kind == "ready":
        metrics.health_ready.set(1.0 if report.status == "ok" else 0.0)
    body = report.as_json() if detail else report.as_public_json()
    response = JsonResponse(
        {**body, **(extra or {})}, status=200 if report.status == "ok" else 503
    )
    response["Cache-Control"] = "no-store"
    if report.status != "ok":
        wait = (
            parsed("drain_seconds")
            if report.status == "draining"
            else parsed("health_timeout")
        )
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _limit() -> float:
    return parsed("health_timeout") + _GRACE


def _unanswered() -> Report:
    # Only if the health loop itself is blocked: the checks' own timeouts end a run sooner.
    detail = f"no answer from the health checks within {_limit():g} s"
    return Report("fail", {"probe": CheckResult("fail", _limit() * 1000, detail)})


def probe_report(kind: str) -> Report:
    """The report of probe ``kind``, for a caller without an event loop (a WSGI view)."""
    probes = get_probes()
    if (report := probes.peek(kind)) is not None:
        return report
    try:
        return _workers.run_sync(probes.run(kind), _limit())
    except TimeoutError:
        return _unanswered()


async def aprobe_report(kind: str) -> Report:
    """The report of probe ``kind``, for a caller on an event loop (an ASGI view)."""
    probes = get_probes()
    if (report := probes.peek(kind)) is not None:
        return report
    try:
        return await _workers.run_async(probes.run(kind), _limit())
    except TimeoutError:
        return _unanswered()
