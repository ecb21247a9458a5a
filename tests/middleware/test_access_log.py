"""AccessLogMiddleware: one line per request, read back from the real log output."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient, Client, override_settings

from django_stability.middleware import AccessLogMiddleware
from tests import endpoints
from tests.clock import FakeClock
from tests.http_modes import MODES, fetch
from tests.logcapture import LogCapture, capture_logs

FIELDS = {
    "event",
    "level",
    "logger",
    "timestamp",
    "status",
    "duration_ms",
    "bytes",
    "route",
    "client_ip",
    "correlation_id",
    "user_id",
    "method",
    "path",
}


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with capture_logs() as capture:
        yield capture


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/obs/items/42/", "obs/items/<int:pk>/"),
        ("/obs/async/items/7/", "obs/async/items/<int:pk>/"),
    ],
)
async def test_one_line_with_every_field(
    mode: str, path: str, route: str, logs: LogCapture
) -> None:
    """A request gives exactly one ``request`` line with the documented fields; route is the pattern."""
    response = await fetch(mode, "get", path)
    line = logs.one("request")
    assert set(line) == FIELDS
    assert line["logger"] == "django_stability.access"
    assert line["level"] == "info"
    assert line["status"] == 200
    assert line["route"] == route
    assert line["path"] == path
    assert line["method"] == "GET"
    assert line["bytes"] == len(response.content)
    assert line["client_ip"] == "127.0.0.1"
    assert line["correlation_id"] == response["X-Correlation-ID"]
    assert line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "status", "level", "route"),
    [
        ("/api/ok", 301, "info", "<unresolved>"),
        ("/no/such/page/", 404, "warning", "<unresolved>"),
        ("/api/fail/403/", 403, "warning", "api/fail/<str:kind>/"),
        ("/api/async/fail/400/", 400, "warning", "api/async/fail/<str:kind>/"),
        ("/obs/async/gone/", 410, "warning", "obs/async/gone/"),
        ("/api/fail/500/", 500, "error", "api/fail/<str:kind>/"),
        ("/api/async/fail/500/", 500, "error", "api/async/fail/<str:kind>/"),
    ],
)
async def test_level_follows_status(
    mode: str, path: str, status: int, level: str, route: str, logs: LogCapture
) -> None:
    """3xx log at INFO, 4xx at WARNING, 5xx at ERROR; unmatched URLs get a placeholder route."""
    response = await fetch(mode, "get", path)
    assert response.status_code == status
    line = logs.one("request")
    assert (line["status"], line["level"], line["route"]) == (status, level, route)
    assert line["correlation_id"] == response["X-Correlation-ID"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/", "/"),
        ("/stability/drafts/notes:new", "stability/drafts/<key>"),
        ("/stability/breakers/db/reset", "stability/breakers/<name>/<action>"),
        ("/reports/2026/sales.csv", "reports/<year>/<var>.csv"),
        ("/files/v1/a.txt", "files/<name>"),
    ],
)
@override_settings(ROOT_URLCONF="tests.urls_routes")
async def test_route_reads_like_a_path(
    mode: str, path: str, route: str, logs: LogCapture
) -> None:
    """The site root logs as ``/`` and a ``re_path()`` as its readable form, not the raw regex."""
    await fetch(mode, "get", path)
    assert logs.one("request")["route"] == route


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/stability/health/live", "/stability/health/ready"])
async def test_probes_log_at_debug(mode: str, path: str) -> None:
    """Health probes log at DEBUG: visible at DEBUG, absent at INFO."""
    with capture_logs(level="DEBUG") as debug:
        await fetch(mode, "get", path)
    assert debug.one("request", path=path)["level"] == "debug"
    with capture_logs(level="INFO") as info:
        await fetch(mode, "get", path)
    assert not info.events("request")


class FakeClockAccessLog(AccessLogMiddleware):
    def __init__(self, get_response: Callable[..., Any]) -> None:
        super().__init__(get_response, clock=FakeClock(0.0, tick=0.25))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/ok/", "/api/async/ok/"])
@override_settings(
    MIDDLEWARE=[
        "django_stability.middleware.CorrelationIdMiddleware",
        "tests.middleware.test_access_log.FakeClockAccessLog",
    ]
)
async def test_duration_uses_the_injected_clock(
    mode: str, view: str, logs: LogCapture
) -> None:
    """duration_ms is end minus start of the injected clock, in milliseconds."""
    await fetch(mode, "get", view)
    assert logs.one("request")["duration_ms"] == 250.0


@pytest.mark.parametrize(
    ("mode", "view"),
    [
        ("wsgi", "/api/stream/"),
        ("asgi", "/api/async/stream/"),
        ("wsgi", "/obs/stream/"),
        ("asgi", "/obs/async/stream/"),
    ],
)
async def test_streaming_bytes_are_counted_when_sent(
    mode: str, view: str, logs: LogCapture
) -> None:
    """A streaming response is logged once its body is sent, with the bytes really streamed."""
    response = await fetch(mode, "get", view)
    assert not logs.events("request")
    if response.is_async:
        body = b"".join([chunk async for chunk in response.streaming_content])
    else:
        body = await sync_to_async(b"".join)(response.streaming_content)
    line = logs.one("request")
    assert line["bytes"] == len(body) > 0
    assert line["status"] == 200
    assert line["correlation_id"] == response["X-Correlation-ID"]


@pytest.mark.django_db  # response.close() sends request_finished, which checks connections
def test_abandoned_stream_is_logged_on_close(logs: LogCapture) -> None:
    """A client that goes away mid-stream still yields one line, with the bytes sent so far."""
    response = Client().get("/obs/stream/")
    first = next(iter(response.streaming_content))  # type: ignore[attr-defined]
    response.close()
    response.close()
    assert logs.one("request")["bytes"] == len(first) == 3


@pytest.mark.parametrize("mode", MODES)
@override_settings(STABILITY_TRUSTED_PROXIES=["127.0.0.0/8"])
async def test_client_ip_behind_a_trusted_proxy(mode: str, logs: LogCapture) -> None:
    """Behind a trusted proxy, client_ip is the forwarded client, not the proxy."""
    await fetch(
        mode, "get", "/api/ok/", headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.5"}
    )
    assert logs.one("request")["client_ip"] == "203.0.113.9"


@pytest.mark.parametrize("mode", MODES)
async def test_untrusted_forwarded_for_is_ignored(mode: str, logs: LogCapture) -> None:
    """Without trusted proxies, a client cannot choose its logged address."""
    await fetch(mode, "get", "/api/ok/", headers={"X-Forwarded-For": "198.51.100.1"})
    assert logs.one("request")["client_ip"] == "127.0.0.1"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/html/fail/500/", "/html/async/fail/500/"])
async def test_exception_escaping_the_stack_logs_500(
    mode: str, view: str, logs: LogCapture
) -> None:
    """When Django lets an exception propagate, the line says 500 and carries the traceback."""
    client: Any = AsyncClient() if mode == "asgi" else Client()
    get = client.get if mode == "asgi" else sync_to_async(client.get)
    with (
        override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True),
        pytest.raises(ZeroDivisionError),
    ):
        await get(view, headers={"X-Correlation-ID": "propagated"})
    line = logs.one("request")
    assert (line["status"], line["level"]) == (500, "error")
    assert line["correlation_id"] == "propagated"
    assert line["bytes"] is None
    assert "ZeroDivisionError: secret internal detail 42" in line["exception"]


async def test_client_disconnect_logs_499(logs: LogCapture) -> None:
    """A client disconnecting while an async view waits is logged as 499, and cancellation propagates."""
    endpoints.HANG_STARTED["event"] = started = asyncio.Event()
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Mapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await started.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/obs/async/hang/",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"x-correlation-id", b"gone-away")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await ASGIHandler()(scope, receive, send)
    assert sent == []
    line = logs.one("request")
    assert (line["status"], line["level"]) == (499, "warning")
    assert line["correlation_id"] == "gone-away"
    assert line["route"] == "obs/async/hang/"
    assert "exception" not in line


def test_probe_prefixes_argument() -> None:
    """probe_prefixes= replaces the paths logged at DEBUG."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    middleware = AccessLogMiddleware(
        lambda request: HttpResponse("ok"), probe_prefixes=["/ping"]
    )
    assert middleware.level(RequestFactory().get("/ping"), 200) == 10
    assert middleware.level(RequestFactory().get("/stability/health/live"), 200) == 20
