"""DeadlineMiddleware: the budget a request gets (route, trusted header) and the 504 of one that runs out."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings

from django_stability.deadline import HEADER, remaining
from django_stability.middleware import DeadlineMiddleware
from tests.clock import FakeClock
from tests.deadline.support import MIDDLEWARE
from tests.http_modes import MODES, fetch
from tests.logcapture import capture_logs

PROXY = "10.0.0.2"
DEADLINES = {"/api/": 10, "/api/reports/": 60}


def seen(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"remaining": remaining()})


async def aseen(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"remaining": remaining()})


def budget(
    path: str, *, peer: str = "127.0.0.1", header: str | None = None
) -> float | None:
    """What the view sees of the deadline for one request through the middleware, on a fake clock."""
    middleware = DeadlineMiddleware(seen, deadlines=DEADLINES, clock=FakeClock())
    headers = {} if header is None else {HEADER: header}
    request = RequestFactory().get(path, REMOTE_ADDR=peer, headers=headers)
    left: float | None = json.loads(middleware(request).content)["remaining"]
    return left


def test_the_longest_matching_prefix_gives_the_budget():
    """/api/reports/ has its own budget; the rest of /api/ the general one; elsewhere none."""
    assert budget("/api/reports/yearly") == 60
    assert budget("/api/notes/") == 10
    assert budget("/admin/") is None


async def test_the_async_path_gives_the_same_budget():
    """Under ASGI the middleware is a coroutine and the view sees the same deadline."""
    middleware = DeadlineMiddleware(aseen, deadlines=DEADLINES, clock=FakeClock())
    assert iscoroutinefunction(middleware)
    response = await middleware(RequestFactory().get("/api/notes/"))
    assert json.loads(response.content)["remaining"] == 10


@override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_trusted_proxy_can_shorten_the_budget():
    """X-Request-Timeout from a trusted proxy shortens the route's budget and gives one elsewhere."""
    assert budget("/api/notes/", peer=PROXY, header="2.5") == 2.5
    assert budget("/admin/", peer=PROXY, header="3") == 3


@override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_header_never_lengthens_the_budget():
    """A proxy asking for more time than the route allows gets the route's budget."""
    assert budget("/api/notes/", peer=PROXY, header="600") == 10


@override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_client_cannot_set_its_own_deadline():
    """The header from a peer that is not a trusted proxy is ignored, even behind X-Forwarded-For."""
    assert budget("/admin/", peer="203.0.113.9", header="1") is None
    assert budget("/api/notes/", peer="203.0.113.9", header="1") == 10


@override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8"])
@pytest.mark.parametrize("value", ["0", "-1", "soon", "1e9", "1234567"])
def test_a_malformed_header_is_ignored_and_logged(value):
    """A trusted proxy's malformed value is ignored (the route's budget holds) and logged."""
    with capture_logs() as logs:
        assert budget("/api/notes/", peer=PROXY, header=value) == 10
    assert logs.one("deadline_header_ignored")["value"] == value


@pytest.mark.parametrize("deadlines", [{"api": 1}, {"/api/": 0}, ["/api/"]])
def test_bad_overrides_are_refused_at_startup(deadlines):
    """The deadlines argument is validated when the middleware is built."""
    with pytest.raises(ImproperlyConfigured, match="deadlines"):
        DeadlineMiddleware(seen, deadlines=deadlines)


@override_settings(STABILITY_DEADLINES={"/api/": 0})
def test_a_bad_setting_is_refused_at_startup():
    """A malformed STABILITY_DEADLINES stops the middleware from being built."""
    with pytest.raises(ImproperlyConfigured, match="STABILITY_DEADLINES"):
        DeadlineMiddleware(seen)


@pytest.mark.parametrize("mode", MODES)
@override_settings(
    ROOT_URLCONF="tests.deadline.support",
    MIDDLEWARE=MIDDLEWARE,
    STABILITY_DEADLINES={"/api/": 10},
)
async def test_the_view_sees_its_deadline_through_django(mode):
    """Through Django's handlers, a view under /api/ has at most its 10 s left; elsewhere none."""
    left = (await fetch(mode, "get", "/api/left/")).json()["remaining"]
    assert 0 < left <= 10
    assert (await fetch(mode, "get", "/html/left/")).json()["remaining"] is None


@override_settings(
    ROOT_URLCONF="tests.deadline.support",
    MIDDLEWARE=MIDDLEWARE,
    STABILITY_DEADLINES={"/api/": 0.3, "/html/": 0.3},
)
async def test_an_async_view_is_cancelled_at_its_deadline():
    """An async view still waiting at the deadline is cancelled: 504 problem, logged."""
    with capture_logs() as logs:
        response = await fetch("asgi", "get", "/api/async/hang/")
    assert response.status_code == 504
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "deadline_exceeded"
    assert logs.one("deadline_exceeded")["where"] == "request"
    page = await fetch("asgi", "get", "/html/async/hang/", HTTP_ACCEPT="text/html")
    assert page.status_code == 504
    assert page["Content-Type"].startswith("text/html")
