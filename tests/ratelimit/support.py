"""A fake wall clock, the middleware and views that read it, and requests from a chosen address."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client
from django.urls import include, path

from django_stability.middleware import RateLimitMiddleware
from django_stability.ratelimit import UNSAFE, ratelimit
from tests.clock import FakeClock

CLOCK = FakeClock(1_800_000_000.0)


class ClockedRateLimitMiddleware(RateLimitMiddleware):
    """The middleware as Django builds it from ``MIDDLEWARE``, on the fake clock."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response, clock=CLOCK)


MIDDLEWARE = [
    "django_stability.middleware.CorrelationIdMiddleware",
    "django_stability.middleware.AccessLogMiddleware",
    "tests.ratelimit.support.ClockedRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_stability.middleware.CacheHeadersMiddleware",
    "django_stability.middleware.ProblemDetailsMiddleware",
]


def unique_ip() -> str:
    """A global IPv6 address in a /64 of its own, so no two tests (or runs) share a counter."""
    h = uuid.uuid4().hex
    return f"2001:db8:{h[:4]}:{h[4:8]}::1"


class _PeerAsyncClient(AsyncClient):
    """An AsyncClient whose requests come from ``peer`` (the ASGI scope's ``client``)."""

    def __init__(self, peer: str) -> None:
        super().__init__(raise_request_exception=False)
        self.peer = peer

    def _base_scope(self, **request: Any) -> dict[str, Any]:
        scope: dict[str, Any] = super()._base_scope(**request)  # type: ignore[misc]
        scope["client"] = [self.peer, 0]
        return scope


async def fetch(
    mode: str, path: str, *, ip: str, method: str = "get", **extra: Any
) -> Any:
    """``method path`` from peer ``ip`` through the WSGI or the ASGI handler.

    ``method`` is a test-client method (``"get"``, ``"post"``...) or any other
    HTTP method name, sent as is.
    """
    client: Any = _PeerAsyncClient(ip) if mode == "asgi" else None
    if client is None:
        client = Client(raise_request_exception=False)
        extra["REMOTE_ADDR"] = ip
    call = getattr(client, method, None) or functools.partial(client.generic, method)
    if mode == "asgi":
        return await call(path, **extra)
    return await sync_to_async(call)(path, **extra)


def hello(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"limited": getattr(request, "limited", None)})


async def ahello(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"limited": getattr(request, "limited", None)})


def header_key(group: str, request: HttpRequest) -> str:
    return request.headers.get("X-Tenant", "")


def tenant_rate(group: str, request: HttpRequest) -> str | None:
    return None if request.headers.get("X-Tenant") == "vip" else "2/m"


def _views(view: Any) -> list[Any]:
    """The decorated variants of ``view`` (sync or async) the decorator tests call."""
    return [
        path("ip", ratelimit(key="ip", rate="3/m", clock=CLOCK)(view)),
        path("tuple", ratelimit(rate=(2, 30), clock=CLOCK)(view)),
        path("post", ratelimit(rate="1/m", method=UNSAFE, clock=CLOCK)(view)),
        path("soft", ratelimit(rate="1/m", block=False, clock=CLOCK)(view)),
        path("user", ratelimit(key="user_or_ip", rate="1/m", clock=CLOCK)(view)),
        path("get", ratelimit(key="get:q", rate="1/m", clock=CLOCK)(view)),
        path(
            "tenant",
            ratelimit(
                key="tests.ratelimit.support.header_key",
                rate="tests.ratelimit.support.tenant_rate",
                clock=CLOCK,
            )(view),
        ),
        path("shared-a", ratelimit(group="shared", rate="2/m", clock=CLOCK)(view)),
        path("shared-b", ratelimit(group="shared", rate="2/m", clock=CLOCK)(view)),
    ]


urlpatterns = [
    path("stability/", include("django_stability.urls")),
    path("api/ok", hello),
    path("api/async/ok", ahello),
    path("static/app.css", hello),
    path("sync/", include(_views(hello))),
    path("async/", include(_views(ahello))),
]
