"""CorrelationIdMiddleware under WSGI and ASGI: IDs kept, made, replaced, and never leaked."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from django_stability.correlation import get_correlation_id
from django_stability.middleware import CorrelationIdMiddleware
from tests.http_modes import MODES, fetch
from tests.logcapture import LogCapture, capture_logs
from tests.test_correlation import BAD_IDS, is_uuid4


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with capture_logs() as capture:
        yield capture


def _assert_never_raw(value: str, response: Any, logs: LogCapture) -> None:
    """Neither the value nor its JSON-escaped form shows up in the response or the log."""
    forms = {value, json.dumps(value)[1:-1]} - {""}
    exposed = "".join(
        f"{k}: {v}\n" for k, v in response.items()
    ) + response.content.decode("latin1")
    for form in forms:
        assert form not in exposed
        assert form not in logs.text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/ok/", "/api/async/ok/"])
async def test_fresh_id_on_response_and_in_view(mode: str, view: str) -> None:
    """Without a header, a fresh UUID4 is seen by the view and returned under both names."""
    response = await fetch(mode, "get", view)
    cid = response["X-Correlation-ID"]
    assert is_uuid4(cid)
    assert response["X-Request-ID"] == cid
    assert json.loads(response.content)["correlation_id"] == cid
    assert get_correlation_id() is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/obs/log/", "/obs/async/log/"])
async def test_incoming_id_is_kept(mode: str, view: str, logs: LogCapture) -> None:
    """A valid incoming ID is used as is: in the view, on request.correlation_id, in responses."""
    response = await fetch(mode, "get", view, headers={"X-Correlation-ID": "client-42"})
    body = json.loads(response.content)
    assert body["view"] == body["attribute"] == "client-42"
    assert response["X-Correlation-ID"] == response["X-Request-ID"] == "client-42"
    assert not logs.events("correlation_id_rejected")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-ID": "second-only"}, "second-only"),
        ({"X-Correlation-ID": "first", "X-Request-ID": "second"}, "first"),
        ({"X-Correlation-ID": "bad value", "X-Request-ID": "second"}, "second"),
    ],
)
async def test_first_valid_header_wins(
    mode: str, headers: dict[str, str], expected: str
) -> None:
    """Headers are tried in STABILITY_CORRELATION_HEADERS order; the first valid one wins."""
    response = await fetch(mode, "get", "/api/ok/", headers=headers)
    assert response["X-Correlation-ID"] == expected
    assert json.loads(response.content)["correlation_id"] == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/ok/", "/api/async/ok/"])
@pytest.mark.parametrize("name", list(BAD_IDS))
async def test_bad_ids_are_replaced_and_never_shown(
    mode: str, view: str, name: str, logs: LogCapture
) -> None:
    """A bad ID is replaced by a fresh one; only its length is logged, never the value."""
    value = BAD_IDS[name]
    response = await fetch(mode, "get", view, headers={"X-Correlation-ID": value})
    cid = response["X-Correlation-ID"]
    assert is_uuid4(cid)
    assert json.loads(response.content)["correlation_id"] == cid
    rejected = logs.one("correlation_id_rejected")
    assert rejected["length"] == len(value)
    assert rejected["header"] == "X-Correlation-ID"
    assert rejected["correlation_id"] == cid
    assert logs.one("request")["correlation_id"] == cid
    _assert_never_raw(value, response, logs)


async def _asgi_get(
    path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, str], bytes]:
    """One GET through Django's real ASGI handler, with headers exactly as a server passes them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Mapping[str, Any]] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # no disconnect: the handler cancels this listener
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    await ASGIHandler()(scope, receive, send)
    start = sent[0]
    headers_out = {
        k.decode("latin1").lower(): v.decode("latin1") for k, v in start["headers"]
    }
    return start["status"], headers_out, b"".join(m.get("body", b"") for m in sent[1:])


async def test_repeated_header_under_asgi_is_replaced(logs: LogCapture) -> None:
    """Two X-Correlation-ID headers (joined with a comma by Django's ASGI request) are rejected."""
    status, headers, body = await _asgi_get(
        "/api/async/ok/",
        [(b"x-correlation-id", b"twice-1"), (b"x-correlation-id", b"twice-1")],
    )
    assert status == 200
    cid = headers["x-correlation-id"]
    assert is_uuid4(cid)
    assert json.loads(body)["correlation_id"] == cid
    assert logs.one("correlation_id_rejected")["length"] == len("twice-1,twice-1")
    assert "twice-1" not in logs.text
    assert "twice-1" not in json.dumps(headers)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """wsgiref prints each request to stderr; the test reads our log instead."""


def test_repeated_header_under_a_real_wsgi_server_is_replaced(logs: LogCapture) -> None:
    """Through a real WSGI server, repeated X-Correlation-ID headers yield a fresh ID."""
    server: WSGIServer = make_server(
        "127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        connection.putrequest("GET", "/api/ok/")
        connection.putheader("X-Correlation-ID", "twice-2")
        connection.putheader("X-Correlation-ID", "twice-2")
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
        thread.join(10)
        server.server_close()
    cid = response.getheader("X-Correlation-ID")
    assert cid is not None and is_uuid4(cid)
    assert json.loads(body)["correlation_id"] == cid
    assert logs.one("correlation_id_rejected")["length"] == len("twice-2,twice-2")
    assert "twice-2" not in logs.text
    assert "twice-2" not in str(response.getheaders())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/fail/500/", 500),
        ("/api/async/fail/500/", 500),
        ("/html/fail/404/", 404),
        ("/html/async/fail/403/", 403),
        ("/api/fail/suspicious/", 400),
        ("/no/such/page/", 404),
        ("/obs/gone/", 410),
    ],
)
async def test_error_responses_carry_the_id(mode: str, path: str, status: int) -> None:
    """4xx and 5xx responses, raised or returned, carry the request's ID under both names."""
    response = await fetch(mode, "get", path, headers={"X-Request-ID": "err-7"})
    assert response.status_code == status
    assert response["X-Correlation-ID"] == response["X-Request-ID"] == "err-7"


class _FailingMiddleware:
    """An inner middleware that blows up: Django turns that into a 500 response."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("inner middleware failed")


@pytest.mark.parametrize("mode", MODES)
@override_settings(
    MIDDLEWARE=[
        "django_stability.middleware.CorrelationIdMiddleware",
        "tests.middleware.test_correlation._FailingMiddleware",
    ]
)
async def test_response_of_failing_inner_middleware_carries_the_id(mode: str) -> None:
    """A 500 produced by an exception in an inner middleware still carries the ID."""
    response = await fetch(
        mode, "get", "/api/ok/", headers={"X-Correlation-ID": "mw-fail"}
    )
    assert response.status_code == 500
    assert response["X-Correlation-ID"] == "mw-fail"


async def _body(response: Any) -> bytes:
    if response.is_async:
        return b"".join([chunk async for chunk in response.streaming_content])
    return await sync_to_async(b"".join)(response.streaming_content)


@pytest.mark.parametrize(
    ("mode", "view"),
    [
        ("wsgi", "/obs/stream/"),
        ("asgi", "/obs/async/stream/"),
        ("wsgi", "/api/stream/"),
    ],
)
async def test_streaming_response_carries_the_id_and_logs_keep_it(
    mode: str, view: str, logs: LogCapture
) -> None:
    """A streaming response carries the ID, and lines logged while streaming keep it."""
    response = await fetch(mode, "get", view, headers={"X-Correlation-ID": "stream-1"})
    assert response["X-Correlation-ID"] == response["X-Request-ID"] == "stream-1"
    body = await _body(response)
    assert body in (b"onetwo", b"abc")
    assert get_correlation_id() is None
    for line in logs.events("inside", where="stream"):
        assert line["correlation_id"] == "stream-1"
    assert len(logs.events("inside", where="stream")) == (2 if "obs" in view else 0)


def test_no_leak_between_requests_on_the_same_thread() -> None:
    """After a request the thread has no ID, and the next request gets its own."""
    client = Client()
    first = client.get("/api/ok/", headers={"X-Correlation-ID": "first-request"})
    assert get_correlation_id() is None
    second = client.get("/api/ok/")
    assert get_correlation_id() is None
    assert json.loads(first.content)["correlation_id"] == "first-request"
    assert (
        json.loads(second.content)["correlation_id"]
        == second["X-Correlation-ID"]
        != "first-request"
    )


def test_no_leak_when_a_view_raises_through() -> None:
    """Even when an exception propagates out of the stack, the ID is reset."""
    client = Client(raise_request_exception=True)
    with (
        override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True),
        pytest.raises(ZeroDivisionError),
    ):
        client.get("/html/fail/500/", headers={"X-Correlation-ID": "raised"})
    assert get_correlation_id() is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("expose", "expected"),
    [
        ("X-Total", "X-Total, X-Correlation-ID, X-Request-ID"),
        ("X-Total, x-request-id", "X-Total, x-request-id, X-Correlation-ID"),
        ("X-Correlation-ID,X-Request-ID", "X-Correlation-ID,X-Request-ID"),
        ("*", "*"),
        ("", "X-Correlation-ID, X-Request-ID"),
    ],
)
async def test_expose_headers_are_patched_when_present(
    mode: str, expose: str, expected: str
) -> None:
    """An existing Access-Control-Expose-Headers gets the ID headers appended, once."""
    response = await fetch(mode, "get", "/obs/exposed/", data={"expose": expose})
    assert response["Access-Control-Expose-Headers"] == expected


@pytest.mark.parametrize("mode", MODES)
async def test_expose_headers_not_added_when_absent(mode: str) -> None:
    """Without a CORS middleware, no Access-Control-Expose-Headers appears."""
    response = await fetch(mode, "get", "/api/ok/")
    assert "Access-Control-Expose-Headers" not in response


@pytest.mark.parametrize("mode", MODES)
@override_settings(STABILITY_CORRELATION_HEADERS=["X-Trace-Token"])
async def test_configured_header_names(mode: str) -> None:
    """STABILITY_CORRELATION_HEADERS changes the names read and written (read live)."""
    response = await fetch(
        mode,
        "get",
        "/api/ok/",
        headers={"X-Trace-Token": "trace-1", "X-Correlation-ID": "ignored"},
    )
    assert response["X-Trace-Token"] == "trace-1"
    assert "X-Correlation-ID" not in response
    assert "X-Request-ID" not in response


def test_header_names_override_in_constructor() -> None:
    """The headers= argument replaces the setting; invalid names fail at startup."""
    middleware = CorrelationIdMiddleware(
        lambda request: HttpResponse("ok"), headers=["X-Mine"]
    )
    request = RequestFactory().get(
        "/", headers={"X-Mine": "mine-1", "X-Correlation-ID": "other"}
    )
    response = middleware(request)
    assert response["X-Mine"] == "mine-1"
    assert "X-Correlation-ID" not in response
    for bad in (["X Bad"], ["X-Ok", ""], [42]):
        with pytest.raises(ImproperlyConfigured):
            CorrelationIdMiddleware(lambda request: HttpResponse("ok"), headers=bad)  # type: ignore[arg-type]


@override_settings(STABILITY_CORRELATION_HEADERS=["Bad Header"])
def test_invalid_setting_fails_at_startup() -> None:
    """A header name that is not an HTTP token raises ImproperlyConfigured when the stack loads."""
    with pytest.raises(ImproperlyConfigured, match="Bad Header"):
        CorrelationIdMiddleware(lambda request: HttpResponse("ok"))
