"""The HTTP answer of a probe: its report, obtained once per kind, turned into JSON and headers.

The probe views of ``django_stability.views.health`` and :func:`with_health_probes`
answer through here, so both give the same JSON, statuses and headers. Reports
are obtained from this process's :class:`~django_stability.health.ProbeSet` on
the health loop; a sync caller (a WSGI view) waits on the loop's future, an
async one (an ASGI view, the wrapper) awaits it, and both build the response
with :func:`probe_answer`.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpResponse, JsonResponse

from django_stability import metrics
from django_stability.conf import conf
from django_stability.health import _workers
from django_stability.health._probes import get_probes
from django_stability.health._runner import CheckResult, Report

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

    ``detail`` shows each check's ``ms`` and ``detail`` (staff, the metrics
    token); otherwise only each check's status. Every readiness answer passes
    here, the ones given in front of Django included, and sets the
    ``stability_health_ready`` gauge.
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
            conf.drain_seconds if report.status == "draining" else conf.health_timeout
        )
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def _limit() -> float:
    return conf.health_timeout + _GRACE


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


async def probe_response(kind: str, *, detail: bool = False) -> HttpResponse:
    """The answer of probe ``kind`` (``"live"``, ``"ready"`` or ``"startup"``) to a GET.

    Args:
        kind: The probe.
        detail: Whether each check's ``ms`` and ``detail`` are shown (for staff
            and the metrics token); otherwise only each check's status.
    """
    return probe_answer(kind, await aprobe_report(kind), detail=detail)
