"""Real dependencies failing under the probes: throwaway servers stopped, frozen and restarted.

PostgreSQL runs from ``tests/fixtures/postgres_server.py`` and Redis from
``tests/fixtures/redis_server.py``; the Django servers are real child
processes (``tests/health/servers.py``). The only time bounds asserted are the
ones the probes promise: an answer within the check timeout (+ 0.5 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import override_settings

from django_stability.health import ProbeSet
from tests import services
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.redis_server import RedisServer
from tests.health.servers import DjangoServer
from tests.http_modes import MODES, fetch
from tests.state.conftest import FakeClock

LIVE, READY = "/stability/health/live", "/stability/health/ready"
TIMEOUT = 1.0


def client_connections(server: PostgresServer) -> int:
    """Client sessions on the throwaway PostgreSQL, this one excluded."""
    with psycopg.connect(server.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(params=MODES)
def pooled_server(
    request: pytest.FixtureRequest, postgres_server: PostgresServer, tmp_path: Path
) -> Iterator[DjangoServer]:
    """A WSGI (threaded runserver) or ASGI (uvicorn) server on the throwaway PostgreSQL, pooled."""
    env = {
        "DATABASE_URL": postgres_server.url,
        "DB_POOL_MIN": "2",
        "DB_POOL_MAX": "4",
        "DB_POOL_TIMEOUT": "2",
        "DB_CONNECT_TIMEOUT": "2",
        "STABILITY_HEALTH_TIMEOUT": str(TIMEOUT),
    }
    server = DjangoServer(request.param, env, tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


def test_postgres_stopped_then_back(
    pooled_server: DjangoServer, postgres_server: PostgresServer
) -> None:
    """PostgreSQL down: ready 503 within the timeout, live 200; back: ready 200 and requests work."""
    assert pooled_server.get(READY).status == 200
    assert pooled_server.get("/db/").status == 200

    postgres_server.stop()
    started = time.monotonic()
    answer = pooled_server.get(READY)
    elapsed = time.monotonic() - started
    assert answer.status == 503
    assert answer.json()["checks"]["database"]["status"] == "fail"
    assert answer.headers["Retry-After"] == "1"
    assert elapsed < TIMEOUT + 0.5
    assert pooled_server.get(LIVE).status == 200

    postgres_server.start()
    # The pool reconnects with a backoff of its own: each failing probe takes
    # at most the timeout, so this loop is bounded in count and in time.
    for _ in range(30):
        answer = pooled_server.get(READY)
        if answer.status == 200:
            break
    assert answer.status == 200, answer.body
    assert pooled_server.get("/db/").json() == {"one": 1}


def test_a_thousand_probes_leave_the_connection_count_alone(
    pooled_server: DjangoServer, postgres_server: PostgresServer
) -> None:
    """1,000 uncached readiness probes on a pooled database open no connection beyond the pool."""
    for _ in range(5):
        assert pooled_server.get(READY).status == 200
    before = client_connections(postgres_server)
    statuses = {pooled_server.get(READY).status for _ in range(1000)}
    assert statuses == {200}
    assert client_connections(postgres_server) == before
    assert before <= 4  # the pool's max_size


@pytest.mark.parametrize("mode", MODES)
async def test_frozen_redis_answers_fail_in_time(
    mode: str, redis_server: RedisServer, probes: ProbeSet, clock: FakeClock
) -> None:
    """Redis stopped with SIGSTOP: ready answers within the timeout + 0.5 s with fail, never hangs."""
    # The client's own socket timeout (5 s) is longer than the probe's: the probe must cut it.
    url = redis_server.url + "?socket_timeout=5"
    with override_settings(
        STABILITY_REDIS_URL=url,
        STABILITY_READINESS_CHECKS=["django_stability.health.Redis"],
        STABILITY_HEALTH_TIMEOUT=0.5,
    ):
        assert (await fetch(mode, "get", READY)).status_code == 200
        redis_server.pause()
        try:
            clock.advance(1.0)
            started = time.monotonic()
            response = await fetch(mode, "get", READY)
            elapsed = time.monotonic() - started
        finally:
            redis_server.resume()
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {
        "status": "fail",
        "ms": response.json()["checks"]["redis"]["ms"],
        "detail": "timed out after 0.5 s",
    }
    assert elapsed < 0.5 + 0.5


def _sessions_on(database: str) -> int:
    """Sessions on ``database`` of the suite's PostgreSQL, this one excluded."""
    with psycopg.connect(services.POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
def test_unpooled_probes_close_what_they_open(mode: str, clock: FakeClock) -> None:
    """Without a pool every probe opens a connection in a health thread and closes it again."""
    database = connection.settings_dict["NAME"]
    before = _sessions_on(database)
    for _ in range(50):
        clock.advance(1.0)  # a fresh run each time, not the cached result
        assert async_to_sync(fetch)(mode, "get", READY).status_code == 200
    assert _sessions_on(database) == before
