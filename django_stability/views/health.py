"""``GET stability/health/{live,ready,startup}`` and the full report ``stability/health/``.

Each probe has a sync view, which waits on the health loop's future (WSGI),
and an async twin, which awaits it (ASGI); the URL patterns pick the one that
suits the server (``django_stability._dual_urls``), so neither pays for a new
event loop or a thread hand-off per probe (see
:mod:`django_stability.health._loop`). The full report is sync only: it
reads the session user, and it is not on a load balancer's hot path.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from typing import Any

from django.core import checks as django_checks
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_stability import metrics
from django_stability.checks import TAG
from django_stability.conf import conf
from django_stability.errors import problem_response
from django_stability.health import _loop
from django_stability.health._probes import get_probes
from django_stability.health._runner import CheckResult, Report
from django_stability.views._auth import (
    Token,
    atoken_check,
    token_check,
    token_throttled,
)

__all__ = [
    "alive",
    "aready",
    "astartup",
    "full",
    "live",
    "probe_response",
    "ready",
    "startup",
]

_SAFE = ("GET", "HEAD")
# The view waits this much longer than a check may take: the run's own overhead.
_GRACE = 1.0


def _method_not_allowed(request: HttpRequest) -> HttpResponse | None:
    if request.method in _SAFE:
        return None
    return problem_response(405, headers={"Allow": ", ".join(_SAFE)})


def _answer(
    report: Report,
    *,
    retry_after: float,
    extra: dict[str, Any] | None = None,
    detail: bool = True,
) -> HttpResponse:
    body = report.as_json() if detail else report.as_public_json()
    response = JsonResponse(
        {**body, **(extra or {})},
        status=200 if report.status == "ok" else 503,
    )
    response["Cache-Control"] = "no-store"
    if report.status != "ok":
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _run(kind: str) -> Report:
    probes = get_probes()
    if (report := probes.peek(kind)) is not None:
        return report
    timeout = conf.health_timeout
    run: Callable[[], Coroutine[Any, Any, Report]] = getattr(probes, kind)
    try:
        return _loop.run_sync(run(), timeout + _GRACE)
    except TimeoutError:  # only if the health loop itself is blocked
        detail = f"no answer from the health checks within {timeout + _GRACE:g} s"
        return Report(
            "fail", {"probe": CheckResult("fail", (timeout + _GRACE) * 1000, detail)}
        )


async def _arun(kind: str) -> Report:
    probes = get_probes()
    if (report := probes.peek(kind)) is not None:
        return report
    timeout = conf.health_timeout
    run: Callable[[], Coroutine[Any, Any, Report]] = getattr(probes, kind)
    try:
        async with asyncio.timeout(timeout + _GRACE):
            return await _loop.run_async(run())
    except TimeoutError:  # only if the health loop itself is blocked
        detail = f"no answer from the health checks within {timeout + _GRACE:g} s"
        return Report(
            "fail", {"probe": CheckResult("fail", (timeout + _GRACE) * 1000, detail)}
        )


def _ready_answer(report: Report, *, detail: bool) -> HttpResponse:
    # Every readiness answer passes here, the ones given in front of Django included.
    metrics.health_ready.set(1.0 if report.status == "ok" else 0.0)
    wait = conf.drain_seconds if report.status == "draining" else conf.health_timeout
    return _answer(report, retry_after=wait, detail=detail)


def _is_staff(user: Any) -> bool:
    return user is not None and bool(user.is_active and user.is_staff)


def _sees_detail(request: HttpRequest) -> bool:
    """Staff and the metrics token see each check's detail; anonymous callers only statuses."""
    return _is_staff(getattr(request, "user", None)) or (
        token_check(request) is Token.VALID
    )


async def _asees_detail(request: HttpRequest) -> bool:
    auser = getattr(request, "auser", None)
    if auser is not None and _is_staff(await auser()):
        return True
    return await atoken_check(request) is Token.VALID


# Read-only whatever the method: exempt so that a POST gets the honest 405, not a CSRF 403.
@csrf_exempt
def live(request: HttpRequest) -> HttpResponse:
    """200 ``{"status": "ok", "checks": {}}``: the process answers HTTP; touches no dependency.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request)) is not None:
        return refused
    return _answer(Report("ok", {}), retry_after=0)


@csrf_exempt
def ready(request: HttpRequest) -> HttpResponse:
    """200 when the readiness checks pass; 503 + ``Retry-After`` on a failure or while draining.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request)) is not None:
        return refused
    return _ready_answer(_run("ready"), detail=_sees_detail(request))


@csrf_exempt
def startup(request: HttpRequest) -> HttpResponse:
    """503 until migrations are applied and the readiness checks passed once; then 200 for good.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request)) is not None:
        return refused
    return _answer(
        _run("startup"),
        retry_after=conf.health_timeout,
        detail=_sees_detail(request),
    )


async def probe_response(kind: str, *, detail: bool = False) -> HttpResponse:
    """The answer of probe ``kind`` (``"live"``, ``"ready"`` or ``"startup"``) to a GET.

    Args:
        kind: The probe.
        detail: Whether each check's ``ms`` and ``detail`` are shown (for staff
            and the metrics token); otherwise only each check's status.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        Only each check's status unless ``detail`` is true.
    """
    if kind == "live":
        return _answer(Report("ok", {}), retry_after=0)
    if kind == "ready":
        return _ready_answer(await _arun("ready"), detail=detail)
    return _answer(
        await _arun("startup"), retry_after=conf.health_timeout, detail=detail
    )


@csrf_exempt
async def alive(request: HttpRequest) -> HttpResponse:
    """The async twin of :func:`live`, which answers under ASGI.

    .. versionadded:: 0.1
    """
    return live(request)  # touches nothing that blocks


@csrf_exempt
async def aready(request: HttpRequest) -> HttpResponse:
    """The async twin of :func:`ready`, which answers under ASGI.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request)) is not None:
        return refused
    return await probe_response("ready", detail=await _asees_detail(request))


@csrf_exempt
async def astartup(request: HttpRequest) -> HttpResponse:
    """The async twin of :func:`startup`, which answers under ASGI.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request)) is not None:
        return refused
    return await probe_response("startup", detail=await _asees_detail(request))


def _authorized(request: HttpRequest) -> HttpResponse | None:
    """``None`` for staff or the metrics token; otherwise the 401/403/429 problem to send."""
    user = getattr(request, "user", None)
    if _is_staff(user):
        return None
    header = request.headers.get("Authorization", "")
    answer = token_check(request)
    if answer is Token.VALID:
        return None
    if answer is Token.THROTTLED:
        return token_throttled(request)
    if answer is Token.INVALID:
        return problem_response(403, detail="The bearer token is not valid.")
    if header:
        return problem_response(
            401,
            detail="Use 'Authorization: Bearer <token>' with STABILITY_METRICS_TOKEN, or log in as staff.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if user is not None and user.is_authenticated:
        return problem_response(403, detail="The full health report is for staff.")
    return problem_response(
        401,
        detail="Log in as staff, or send 'Authorization: Bearer <token>'.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def deploy_messages() -> list[dict[str, Any]]:
    """django-stability's and Django's security system checks, deployment checks included.

    Silenced ones (``SILENCED_SYSTEM_CHECKS``) are left out, as ``manage.py check`` does.
    """
    found = django_checks.run_checks(
        tags=[TAG, django_checks.Tags.security], include_deployment_checks=True
    )
    return [
        {
            "id": message.id,
            "level": "error" if message.is_serious() else "warning",
            "message": message.msg,
            "hint": message.hint,
        }
        for message in found
        if not message.is_silenced()
    ]


@csrf_exempt
def full(request: HttpRequest) -> HttpResponse:
    """Every health check plus the deployment system checks; staff or the metrics token only.

    .. versionadded:: 0.1
    """
    if (refused := _method_not_allowed(request) or _authorized(request)) is not None:
        return refused
    return _answer(
        _run("full"),
        retry_after=conf.health_timeout,
        extra={"system_checks": deploy_messages()},
    )
