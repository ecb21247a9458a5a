"""``GET stability/health/{live,ready,startup}`` and the full report ``stability/health/``.

Each probe has a sync view (WSGI) and an async twin (ASGI), built together;
the URL patterns pick the one that suits the server (``_dual_urls``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import checks as django_checks
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from django_stability.checks import TAG
from django_stability.errors import problem_response
from django_stability.health._responses import (
    aprobe_report,
    probe_answer,
    probe_report,
)
from django_stability.views._auth import (
    Token,
    atoken_check,
    method_not_allowed,
    token_check,
    token_throttled,
)

_SAFE = ("GET", "HEAD")


def _method_not_allowed(request: HttpRequest) -> HttpResponse | None:
    return None if request.method in _SAFE else method_not_allowed(_SAFE)


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


def _probe_views(
    kind: str, doc: str
) -> tuple[Callable[[HttpRequest], HttpResponse], Callable[..., Any]]:
    """The sync view of probe ``kind`` and its async twin, which differ only in how they wait."""
    shows_detail = kind != "live"  # live has no checks: no token to judge

    def view(request: HttpRequest) -> HttpResponse:
        if (refused := _method_not_allowed(request)) is not None:
            return refused
        detail = shows_detail and _sees_detail(request)
        return probe_answer(kind, probe_report(kind), detail=detail)

    async def aview(request: HttpRequest) -> HttpResponse:
        if (refused := _method_not_allowed(request)) is not None:
            return refused
        detail = shows_detail and await _asees_detail(request)
        return probe_answer(kind, await aprobe_report(kind), detail=detail)

    for func, name in ((view, kind), (aview, "a" + kind)):
        func.__name__ = func.__qualname__ = name
        func.__doc__ = f"{doc}\n\n.. versionadded:: 0.1"
    # Read-only whatever the method: exempt so that a POST gets the honest 405, not a CSRF 403.
    return csrf_exempt(view), csrf_exempt(aview)


live, alive = _probe_views(
    "live",
    '200 ``{"status": "ok", "checks": {}}``: the process answers HTTP; touches no dependency.',
)
ready, aready = _probe_views(
    "ready",
    "200 when the readiness checks pass; 503 + ``Retry-After`` on a failure or while draining.",
)
startup, astartup = _probe_views(
    "startup",
    "503 until migrations are applied and the readiness checks passed once; then 200 for good.",
)


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
    return probe_answer(
        "full", probe_report("full"), extra={"system_checks": deploy_messages()}
    )
