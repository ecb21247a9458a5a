"""django_stability.logging: one pipeline for structlog and stdlib lines, with request context."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from django_stability.correlation import correlation_scope
from django_stability.logging import (
    add_request_context,
    configure,
    get_logger,
    loaded_user_id,
)
from tests.http_modes import MODES, fetch
from tests.logcapture import LogCapture, capture_logs

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with capture_logs() as capture:
        yield capture


def test_structlog_line_is_one_json_object(logs: LogCapture) -> None:
    """A structlog event becomes one JSON line with event, level, logger and an ISO UTC timestamp."""
    get_logger("tests.app").info("order_paid", order_id=7, amount="9.50")
    line = logs.one("order_paid")
    assert line["order_id"] == 7
    assert line["amount"] == "9.50"
    assert line["level"] == "info"
    assert line["logger"] == "tests.app"
    assert ISO_UTC.fullmatch(line["timestamp"])
    assert len(logs.text.splitlines()) == 1


def test_stdlib_line_goes_through_the_same_processors(logs: LogCapture) -> None:
    """A plain logging call comes out as the same JSON shape, with its arguments formatted."""
    with correlation_scope("std-1"):
        logging.getLogger("tests.legacy").warning("disk %s%% full", 93)
    line = logs.one("disk 93% full")
    assert line["level"] == "warning"
    assert line["logger"] == "tests.legacy"
    assert line["correlation_id"] == "std-1"
    assert ISO_UTC.fullmatch(line["timestamp"])


def test_exception_is_a_field_with_the_traceback(logs: LogCapture) -> None:
    """log.exception() puts the formatted traceback in an ``exception`` field of the same line."""
    empty: dict[str, int] = {}
    try:
        empty["missing"]
    except KeyError:
        get_logger("tests.app").exception("lookup_failed")
        logging.getLogger("tests.legacy").exception("legacy failed")
    for event in ("lookup_failed", "legacy failed"):
        line = logs.one(event)
        assert line["level"] == "error"
        assert "Traceback (most recent call last)" in line["exception"]
        assert "KeyError: 'missing'" in line["exception"]
        assert "test_exception_is_a_field_with_the_traceback" in line["exception"]


def test_console_renderer_in_development() -> None:
    """json=False gives readable key=value lines, not JSON, without colours on a non-terminal."""
    with capture_logs(json=False) as capture, correlation_scope("dev-1"):
        get_logger("tests.app").info("hello_dev", answer=42)
    text = capture.text
    assert "hello_dev" in text
    assert "answer=42" in text
    assert "correlation_id=dev-1" in text
    assert "\x1b[" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_configure_twice_replaces_the_handler() -> None:
    """Calling configure() again sends lines to the new stream only, never twice."""
    with capture_logs() as first, capture_logs() as second:
        get_logger("tests.app").info("once")
        logging.getLogger("tests.legacy").info("once too")
        ours = [
            h for h in logging.getLogger().handlers if type(h).__name__ == "_Handler"
        ]
        assert len(ours) == 1
    assert [line["event"] for line in second.lines()] == ["once", "once too"]
    assert first.text == ""


@pytest.mark.parametrize("level", ["INFO", "info", logging.INFO])
def test_level_filters_structlog_and_stdlib(level: str | int) -> None:
    """Below the configured level nothing is written, from structlog or logging."""
    with capture_logs(level=level) as capture:  # type: ignore[arg-type]
        get_logger("tests.app").debug("hidden")
        logging.getLogger("tests.legacy").debug("hidden too")
        get_logger("tests.app").info("shown")
    assert [line["event"] for line in capture.lines()] == ["shown"]


def test_unknown_level_is_an_error() -> None:
    """A misspelt level name raises ValueError instead of silently logging everything."""
    with pytest.raises(ValueError, match="VERBOSE"):
        configure(level="VERBOSE")


def test_django_default_handlers_are_handed_to_the_root() -> None:
    """Django's own console handlers are removed and its loggers propagate to our handler."""
    server = logging.getLogger("django.server")
    own = logging.StreamHandler()
    server.addHandler(own)
    server.propagate = False
    try:
        with capture_logs() as capture:
            assert own not in server.handlers
            assert server.propagate
            server.info('"GET / HTTP/1.1" 200 2', extra={"status_code": 200})
        line = capture.one('"GET / HTTP/1.1" 200 2')
        assert line["status_code"] == 200
        assert line["logger"] == "django.server"
    finally:
        server.removeHandler(own)
        own.close()


def test_user_contextvars_are_merged(logs: LogCapture) -> None:
    """Values bound with structlog.contextvars appear in every line, stdlib ones included."""
    with structlog.contextvars.bound_contextvars(tenant="acme"):
        get_logger("tests.app").info("bound")
        logging.getLogger("tests.legacy").info("bound std")
    assert logs.one("bound")["tenant"] == "acme"
    assert logs.one("bound std")["tenant"] == "acme"


def test_processor_leaves_lines_outside_requests_alone() -> None:
    """Outside a request, add_request_context adds nothing."""
    assert add_request_context(None, "info", {"event": "x"}) == {"event": "x"}


# Inside requests ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_context_in_sync_view_and_async_to_sync(
    mode: str, logs: LogCapture
) -> None:
    """Lines from a sync view and from async_to_sync code in it carry the request's context."""
    response = await fetch(
        mode, "get", "/obs/log/", headers={"X-Correlation-ID": "ctx-sync"}
    )
    assert json.loads(response.content)["async_to_sync"] == "ctx-sync"
    for where in ("view", "async_to_sync"):
        line = logs.one("inside", where=where)
        assert line["correlation_id"] == "ctx-sync"
        assert line["method"] == "GET"
        assert line["path"] == "/obs/log/"
    assert logs.one("stdlib inside")["correlation_id"] == "ctx-sync"


@pytest.mark.parametrize("mode", MODES)
async def test_context_in_async_view_and_sync_to_async(
    mode: str, logs: LogCapture
) -> None:
    """Lines from an async view and from sync_to_async code in it carry the request's context."""
    response = await fetch(
        mode, "get", "/obs/async/log/", headers={"X-Request-ID": "ctx-async"}
    )
    assert json.loads(response.content)["sync_to_async"] == "ctx-async"
    for where in ("view", "sync_to_async"):
        line = logs.one("inside", where=where)
        assert line["correlation_id"] == "ctx-async"
        assert line["path"] == "/obs/async/log/"
    assert logs.one("stdlib inside")["correlation_id"] == "ctx-async"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/fail/500/", "/api/async/fail/500/"])
async def test_django_request_error_has_id_and_traceback(
    mode: str, view: str, logs: LogCapture
) -> None:
    """A view raising deep inside logs django.request with the response's ID and the traceback."""
    response = await fetch(mode, "get", view)
    assert response.status_code == 500
    cid = response["X-Correlation-ID"]
    line = logs.one(f"Internal Server Error: {view}")
    assert line["logger"] == "django.request"
    assert line["level"] == "error"
    assert line["status_code"] == 500
    assert line["correlation_id"] == cid
    assert (line["method"], line["path"]) == ("GET", view)
    assert "ZeroDivisionError: secret internal detail 42" in line["exception"]
    assert "in _deep" in line["exception"]
    assert b"secret internal detail" not in response.content
    assert json.loads(response.content)["correlation_id"] == cid


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("view", "event"),
    [
        ("/html/fail/404/", "Not Found: /html/fail/404/"),
        ("/obs/gone/", "Gone: /obs/gone/"),
        ("/obs/async/gone/", "Gone: /obs/async/gone/"),
    ],
)
async def test_django_request_4xx_has_the_id(
    mode: str, view: str, event: str, logs: LogCapture
) -> None:
    """django.request warnings carry the ID, also for returned 4xx logged after the middleware ran."""
    response = await fetch(mode, "get", view, headers={"X-Correlation-ID": "warn-4xx"})
    line = logs.one(event)
    assert line["logger"] == "django.request"
    assert line["level"] == "warning"
    assert line["status_code"] == response.status_code
    assert line["correlation_id"] == "warn-4xx"
    assert line["path"] == view


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("ada", password="not-used")


def _get(mode: str, client: Client | AsyncClient, path: str) -> None:
    if mode == "asgi":
        async_to_sync(client.get)(path)  # type: ignore[arg-type]
    else:
        client.get(path)


@pytest.mark.parametrize(
    ("mode", "view"),
    [
        ("wsgi", "/obs/whoami/"),
        ("asgi", "/obs/async/whoami/"),
        ("asgi", "/obs/whoami/"),
    ],
)
def test_user_id_once_the_view_loaded_the_user(
    mode: str, view: str, user: User, logs: LogCapture
) -> None:
    """After the view used request.user (or auser()), lines carry user_id; the access line too."""
    client = AsyncClient() if mode == "asgi" else Client()
    client.force_login(user)
    _get(mode, client, view)
    assert logs.one("request")["user_id"] == str(user.pk)
    assert logs.one("inside", where="whoami")["user_id"] == str(user.pk)


@pytest.mark.parametrize("mode", MODES)
def test_user_is_never_loaded_for_logging(
    mode: str, user: User, logs: LogCapture
) -> None:
    """A view that does not touch the user costs no query for logging, and no user_id shows."""
    from django.db import connection

    client = AsyncClient() if mode == "asgi" else Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        _get(mode, client, "/obs/log/")
    assert len(queries) == 0
    assert all(
        "user_id" not in line or line["user_id"] is None for line in logs.lines()
    )


@pytest.mark.parametrize("mode", MODES)
def test_anonymous_user_has_no_user_id(mode: str, db: None, logs: LogCapture) -> None:
    """Anonymous requests log user_id null on the access line and none elsewhere."""
    client = AsyncClient() if mode == "asgi" else Client()
    _get(mode, client, "/obs/whoami/" if mode == "wsgi" else "/obs/async/whoami/")
    assert logs.one("request")["user_id"] is None
    assert "user_id" not in logs.one("inside", where="whoami")


def test_loaded_user_id_after_login(user: User) -> None:
    """A user set directly on the request (as login() does) is used; a lazy one is not loaded."""
    from django.test import RequestFactory
    from django.utils.functional import SimpleLazyObject

    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: pytest.fail("the user was loaded"))  # type: ignore[assignment]
    assert loaded_user_id(request) is None
    request.user = user
    assert loaded_user_id(request) == str(user.pk)
