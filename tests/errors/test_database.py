"""A database that is down answers 503 database_unavailable, before any breaker opens.

A throwaway PostgreSQL (``tests/fixtures/postgres_server.py``) is stopped
under real requests, through Django's WSGI and ASGI handlers and sync and
async views; no breaker is installed on its alias.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connections
from django.test import RequestFactory, override_settings
from pytest_django import DjangoDbBlocker

from django_stability.errors import server_error
from tests.fixtures.postgres_server import PostgresServer, database_alias
from tests.http_modes import MODES, fetch

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.urls("tests.urls_database"),
]

VIEWS = ["/api/db/", "/api/async/db/"]


@pytest.fixture
def alias(
    pg_server: PostgresServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[str]:
    """An alias of this test on the throwaway server, without a pool."""
    with django_db_blocker.unblock(), database_alias(pg_server) as name:
        yield name


@pytest.fixture
def pooled(
    pg_server: PostgresServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[str]:
    """An alias on the throwaway server through a psycopg pool of one that waits 1 s at most."""
    pool = {"min_size": 1, "max_size": 1, "timeout": 1}
    options = {"connect_timeout": 2, "pool": pool}
    with (
        django_db_blocker.unblock(),
        database_alias(pg_server, OPTIONS=options, CONN_HEALTH_CHECKS=True) as name,
    ):
        yield name


def _assert_unavailable(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    assert response["Retry-After"] == "5"  # type: ignore[index]
    problem = json.loads(response.content)  # type: ignore[attr-defined]
    assert problem["code"] == "database_unavailable"
    assert problem["detail"] == "The database is unreachable right now; retry later."


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", VIEWS)
async def test_refused_connection_is_503_then_recovers(
    alias: str, pg_server: PostgresServer, mode: str, view: str
) -> None:
    """A stopped database gets a 503 problem with Retry-After (no 500), and 200 once it is back."""
    url = f"{view}{alias}/select/"
    assert (await fetch(mode, "get", url)).json() == {"one": 1}
    pg_server.stop()
    _assert_unavailable(await fetch(mode, "get", url))
    pg_server.start()
    assert (await fetch(mode, "get", url)).json() == {"one": 1}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", VIEWS)
async def test_pool_that_cannot_connect_is_503(
    pooled: str,
    pg_server: PostgresServer,
    mode: str,
    view: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pool's PoolTimeout (no connection within DB_POOL_TIMEOUT) is a 503 too, logged with its cause."""
    url = f"{view}{pooled}/select/"
    assert (await fetch(mode, "get", url)).json() == {"one": 1}
    pg_server.stop()
    with caplog.at_level(logging.WARNING, "django_stability.errors"):
        _assert_unavailable(await fetch(mode, "get", url))
    assert any(
        r.getMessage().startswith("database unavailable: psycopg_pool.PoolTimeout")
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("kind", ["integrity", "timeout"])
async def test_query_errors_stay_500(
    alias: str, mode: str, view: str, kind: str
) -> None:
    """An IntegrityError or a statement_timeout proves the database answered: still a 500."""
    response = await fetch(mode, "get", f"{view}{alias}/{kind}/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "Retry-After" not in response


@pytest.mark.parametrize("mode", MODES)
async def test_browser_page_is_503_too(
    alias: str, pg_server: PostgresServer, mode: str
) -> None:
    """Outside the API prefixes a browser gets a 503 page with Retry-After, not the 500 page."""
    pg_server.stop()
    response = await fetch(
        mode, "get", f"/shop/db/{alias}/select/", HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"


def _failed_query(alias: str) -> OperationalError:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except OperationalError as exc:
        return exc
    raise AssertionError("the query worked on a stopped server")


def test_handler500_keeps_503_for_a_database_outage(
    alias: str, pg_server: PostgresServer
) -> None:
    """handler500, handling a connection failure raised outside the middleware, answers 503."""
    pg_server.stop()
    factory = RequestFactory()
    error = _failed_query(alias)
    try:
        raise error
    except OperationalError:
        api = server_error(factory.get("/api/x", headers={"accept": "*/*"}))
        page = server_error(factory.get("/shop/x", headers={"accept": "text/html"}))
    _assert_unavailable(api)
    assert page.status_code == 503
    assert page["Retry-After"] == "5"
    assert b"Service Unavailable" in page.content


def test_handler500_other_errors_stay_500() -> None:
    """handler500 still answers 500 for an exception that carries no status of its own."""
    try:
        raise KeyError("x")
    except KeyError:
        response = server_error(RequestFactory().get("/api/x"))
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"


@override_settings(DEBUG=True)
@pytest.mark.parametrize("mode", MODES)
async def test_debug_shows_the_driver_message(
    alias: str, pg_server: PostgresServer, mode: str
) -> None:
    """With DEBUG on, the detail is the driver's own message, as for other mapped errors."""
    pg_server.stop()
    response = await fetch(mode, "get", f"/api/db/{alias}/select/")
    assert response.status_code == 503
    assert "127.0.0.1" in response.json()["detail"]
