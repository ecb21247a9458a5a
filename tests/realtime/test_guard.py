"""Realtime handshakes while the session database is down: 1013 and 503, never a bare 500.

Sessions and users are routed to an alias on a throwaway PostgreSQL that the
tests stop; Channels' real ``AuthMiddlewareStack`` then fails reading the
session, before any consumer runs, and ``OutageGuard`` answers for it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import (
    ApplicationCommunicator,
    HttpCommunicator,
    WebsocketCommunicator,
)
from django.db import OperationalError, connections
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from django_stability.breakers.integrations import (
    install_database_breaker,
    uninstall_database_breaker,
)
from django_stability.errors import register_problem
from django_stability.realtime import GuardedAuthMiddlewareStack, OutageGuard
from django_stability.realtime.routing import http_urlpatterns, websocket_urlpatterns
from tests.breakers.integrations.conftest import fake_breaker
from tests.clock import FakeClock
from tests.fixtures.postgres_server import PostgresServer, database_alias
from tests.logcapture import capture_logs

pytestmark = pytest.mark.postgres

# Any well-formed key: reading it is what fails.
COOKIE = [(b"cookie", b"sessionid=abcdefgh12345678abcdefgh12345678")]
WAIT = 10
# asgiref reports an application's exception once the wait for its output ends.
FAILS = 1


class Router:
    """Sends sessions and users to the throwaway server's alias."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return self.alias if model._meta.app_label in ("sessions", "auth") else None

    db_for_write = db_for_read


@pytest.fixture
async def alias(
    pg_server: PostgresServer, django_db_blocker: DjangoDbBlocker
) -> AsyncIterator[str]:
    """The alias sessions and users are read from, on the (still running) throwaway server."""
    with (
        django_db_blocker.unblock(),
        database_alias(pg_server) as name,
        override_settings(DATABASE_ROUTERS=[Router(name)]),
    ):
        yield name
        # channels.testing's communicators skip close_old_connections: close what
        # the executor thread opened (a breaker reads its forced state from
        # "default") while access is still allowed, so no later test trips on it.
        await database_sync_to_async(connections.close_all)()


def _socket(
    app: Any, path: str = "/ws/stability/events/news/"
) -> WebsocketCommunicator:
    return WebsocketCommunicator(app, path, headers=COOKIE)


async def _assert_try_again_later(
    communicator: WebsocketCommunicator,
) -> dict[str, Any]:
    await communicator.send_input({"type": "websocket.connect"})
    accept = await communicator.receive_output(timeout=WAIT)
    assert accept["type"] == "websocket.accept"  # so a browser sees the close code
    # The handshake's answer carries the correlation and version headers.
    headers = dict(accept["headers"])
    assert headers[b"X-Correlation-ID"] == headers[b"X-Request-ID"]
    assert headers[b"X-App-Version"]
    frame: dict[str, Any] = await communicator.receive_json_from(timeout=WAIT)
    closed = await communicator.receive_output(timeout=WAIT)
    assert closed == {"type": "websocket.close", "code": 1013}
    assert frame["type"] == "error"
    return frame


async def test_websocket_is_closed_1013_while_the_database_is_down(
    alias: str, pg_server: PostgresServer
) -> None:
    """The handshake is accepted, told database_unavailable with retry_after, and closed 1013."""
    pg_server.stop()
    app = GuardedAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    frame = await _assert_try_again_later(_socket(app))
    assert frame["error"] == "database_unavailable"
    assert frame["retry_after"] == 5


async def test_websocket_without_the_guard_fails(
    alias: str, pg_server: PostgresServer
) -> None:
    """What the guard prevents: Channels' stack alone lets the OperationalError out of the app."""
    from channels.auth import AuthMiddlewareStack

    pg_server.stop()
    communicator = _socket(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
    with pytest.raises(OperationalError):
        await communicator.connect(timeout=FAILS)


async def test_open_breaker_gives_its_retry_after(
    alias: str, pg_server: PostgresServer
) -> None:
    """Once the database breaker is open, the close still says 1013, with the breaker's wait."""
    clock = FakeClock()
    guard = fake_breaker(clock, "database:rt", failure_threshold=1, reset_timeout=30)
    install_database_breaker(alias, guard)
    try:
        pg_server.stop()
        app = GuardedAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        first = await _assert_try_again_later(_socket(app))
        assert first["error"] == "database_unavailable"  # the failure that opens it
        assert guard.state == "open"
        second = await _assert_try_again_later(_socket(app))
        assert second["error"] == "circuit_open"
        assert second["retry_after"] == 30
    finally:
        uninstall_database_breaker(alias)


async def test_event_stream_is_503_problem_while_the_database_is_down(
    alias: str, pg_server: PostgresServer
) -> None:
    """The SSE request gets a 503 problem+json with Retry-After instead of a bare 500."""
    pg_server.stop()
    app = GuardedAuthMiddlewareStack(URLRouter(http_urlpatterns))
    communicator = HttpCommunicator(
        app, "GET", "/stability/events/news/", headers=COOKIE
    )
    with capture_logs() as logs:
        response = await communicator.get_response(timeout=WAIT)
    headers = dict(response["headers"])
    assert response["status"] == 503
    # Operators find the refusal's log line by the ID the client was given.
    (line,) = logs.events("realtime.unavailable")
    assert line["correlation_id"] == headers[b"X-Correlation-ID"].decode()
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"retry-after"] == b"5"
    problem = json.loads(response["body"])
    assert problem["code"] == "database_unavailable"
    assert problem["status"] == 503
    # The ID to quote, in the body and under each correlation header, and the version.
    assert problem["correlation_id"] == headers[b"X-Correlation-ID"].decode()
    assert headers[b"X-Request-ID"] == headers[b"X-Correlation-ID"]
    assert headers[b"X-App-Version"]


async def test_a_failure_after_the_answer_started_goes_to_the_server(
    alias: str, pg_server: PostgresServer
) -> None:
    """Once the app has accepted, the guard cannot answer: the error reaches the server as is."""

    def query() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await database_sync_to_async(query)()

    pg_server.stop()
    communicator = _socket(OutageGuard(app))
    assert (await communicator.connect(timeout=WAIT))[0]
    with pytest.raises(OperationalError):
        await communicator.receive_output(timeout=FAILS)


async def test_other_errors_go_to_the_server() -> None:
    """An exception that is no outage is not dressed up as a retry."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("bug")

    communicator = _socket(OutageGuard(app))
    with pytest.raises(KeyError):
        await communicator.connect(timeout=FAILS)


async def test_the_database_back_means_a_normal_handshake(
    alias: str, pg_server: PostgresServer
) -> None:
    """With the database up, the guard is invisible: an unknown session is refused 4401 as before."""
    from django.contrib.sessions.models import Session

    def create_table() -> None:
        with connections[alias].schema_editor() as editor:
            editor.create_model(Session)

    await database_sync_to_async(create_table)()
    app = GuardedAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    communicator = _socket(app)
    await communicator.connect(timeout=WAIT)
    frame = await communicator.receive_json_from(timeout=WAIT)
    assert frame["error"] == "unauthenticated"
    assert (await communicator.receive_output(timeout=WAIT))["code"] == 4401


async def test_a_client_gone_before_the_answer_is_left_alone(
    alias: str, pg_server: PostgresServer
) -> None:
    """A handshake abandoned before the outage was noticed gets no accept (nobody to read it)."""
    from channels.auth import AuthMiddlewareStack

    pg_server.stop()
    scope = {
        "type": "websocket",
        "path": "/ws/stability/events/news/",
        "headers": COOKIE,
        "query_string": b"",
        "subprotocols": [],
    }
    communicator = ApplicationCommunicator(
        OutageGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))), scope
    )
    await communicator.send_input({"type": "websocket.disconnect", "code": 1001})
    await communicator.wait(timeout=WAIT)
    assert await communicator.receive_nothing()


class Maintenance(Exception):
    """A project's own outage exception, registered as a 503 without a retry_after."""


async def test_a_registered_503_without_retry_after_gets_one() -> None:
    """A 503 always tells the client when to come back, over WebSocket and HTTP."""
    register_problem(Maintenance, status=503, code="maintenance")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise Maintenance

    frame = await _assert_try_again_later(_socket(OutageGuard(app)))
    assert (frame["error"], frame["retry_after"]) == ("maintenance", 5)
    response = await HttpCommunicator(OutageGuard(app), "GET", "/x/").get_response()
    assert response["status"] == 503
    assert dict(response["headers"])[b"retry-after"] == b"5"


async def test_lifespan_passes_through() -> None:
    """Scopes other than HTTP and WebSocket go to the inner application untouched."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    communicator = ApplicationCommunicator(OutageGuard(app), {"type": "lifespan"})
    await communicator.wait(timeout=WAIT)
    assert seen == ["lifespan"]
