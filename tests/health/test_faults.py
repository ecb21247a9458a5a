"""Real dependencies failing under the probes: throwaway servers stopped, frozen and restarted.

PostgreSQL runs from ``tests/fixtures/postgres_server.py`` and Redis from
``tests/fixtures/redis_server.py``; the Django servers are real child
processes (``tests/health/servers.py``). The only time bounds asserted are the
ones the probes promise: an answer within the check timeout (+ 0.5 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test import override_settings
from health_check.base import HealthCheck

from django_stability.health._drain import set_drain
from django_stability.health._probes import ProbeSet
from django_stability.state import get_engine
from tests import services
from tests.clock import FakeClock
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.redis_server import RedisServer
from tests.health.servers import DjangoServer
from tests.http_modes import MODES, fetch, fetch_detailed

LIVE, READY = "/stability/health/live", "/stability/health/ready"
TIMEOUT = 1.0


APP = "stability-probe-server"  # the application_name of the servers' connections


class Sessions:
    """Counts sessions on a PostgreSQL through one connection held open for the whole test.

    A closed connection's backend leaves ``pg_stat_activity`` a moment after
    the client hung up, so a fresh counting connection per count would see the
    previous one still exiting; this one never churns, and :meth:`wait_for`
    allows for the server's own backends coming and going.
    """

    def __init__(self, url: str, where: str, params: list[str]) -> None:
        self._conn = psycopg.connect(url, autocommit=True)
        self._query = f"SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND {where}"
        self._params = params

    def count(self) -> int:
        row = self._conn.execute(self._query, self._params).fetchone()
        assert row is not None
        return int(row[0])

    def wait_for(self, done: Callable[[int], bool], attempts: int = 500) -> int:
        """The count once ``done(count)``, or after ``attempts`` reads 10 ms apart (5 s)."""
        count = self.count()
        for _ in range(attempts):
            if done(count):
                break
            # A server-side pause between reads: exiting backends get the time to go,
            # a pool filling in the background the time to connect.
            self._conn.execute("SELECT pg_sleep(0.01)")
            count = self.count()
        return count

    def close(self) -> None:
        self._conn.close()


@pytest.fixture(params=MODES)
def pooled_server(
    request: pytest.FixtureRequest, pg_server: PostgresServer, tmp_path: Path
) -> Iterator[DjangoServer]:
    """A WSGI (threaded runserver) or ASGI (uvicorn) server on the throwaway PostgreSQL, pooled."""
    env = {
        "DATABASE_URL": f"{pg_server.url}?application_name={APP}",
        # A fixed-size pool: it never grows, so its connection count is known.
        "DB_POOL_MIN": "4",
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
    pooled_server: DjangoServer, pg_server: PostgresServer
) -> None:
    """PostgreSQL down: ready 503 within the timeout, live 200; back: ready 200 and requests work."""
    assert pooled_server.get(READY).status == 200
    assert pooled_server.get("/db/").status == 200

    pg_server.stop()
    started = time.monotonic()
    answer = pooled_server.get(READY)
    elapsed = time.monotonic() - started
    assert answer.status == 503
    assert answer.json()["checks"]["database"]["status"] == "fail"
    assert answer.headers["Retry-After"] == "1"
    assert elapsed < TIMEOUT + 0.5
    assert pooled_server.get(LIVE).status == 200

    pg_server.start()
    # The pool reconnects with a backoff of its own: each failing probe takes
    # at most the timeout, so this loop is bounded in count and in time.
    for _ in range(30):
        answer = pooled_server.get(READY)
        if answer.status == 200:
            break
    assert answer.status == 200, answer.body
    assert pooled_server.get("/db/").json() == {"one": 1}


def test_a_thousand_probes_leave_the_connection_count_alone(
    pooled_server: DjangoServer, pg_server: PostgresServer
) -> None:
    """1,000 uncached readiness probes on a pooled database open no connection beyond the pool."""
    sessions = Sessions(pg_server.url, "application_name = %s", [APP])
    try:
        assert pooled_server.get(READY).status == 200
        # The pool opens its 4 connections in the background: wait (bounded) for all of them.
        before = sessions.wait_for(lambda count: count == 4)
        assert before == 4
        statuses = {pooled_server.get(READY).status for _ in range(1000)}
        assert statuses == {200}
        assert sessions.count() == before
    finally:
        sessions.close()


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
            response = await fetch_detailed(mode, READY)
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


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
def test_unpooled_probes_close_what_they_open(mode: str, clock: FakeClock) -> None:
    """Without a pool every probe opens a connection in a health thread and closes it again."""
    sessions = Sessions(
        services.POSTGRES_URL, "datname = %s", [connection.settings_dict["NAME"]]
    )
    try:
        before = sessions.count()
        for _ in range(50):
            clock.advance(1.0)  # a fresh run each time, not the cached result
            assert async_to_sync(fetch)(mode, "get", READY).status_code == 200
        # A leaked connection would stay; closed ones leave within moments.
        assert sessions.wait_for(lambda count: count <= before) <= before
    finally:
        sessions.close()


@dataclass
class QueriesAndForgets(HealthCheck):
    """A user's sync check that queries the database and never closes the connection."""

    def run(self) -> None:
        connection.cursor().execute("SELECT 1")


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
def test_connections_a_sync_check_forgets_are_closed(
    mode: str, clock: FakeClock
) -> None:
    """A check that leaves its connection open still leaves none behind: the health thread closes it."""
    sessions = Sessions(
        services.POSTGRES_URL, "datname = %s", [connection.settings_dict["NAME"]]
    )
    try:
        before = sessions.count()
        with override_settings(
            STABILITY_READINESS_CHECKS=[f"{__name__}.QueriesAndForgets"]
        ):
            for _ in range(20):
                clock.advance(1.0)
                assert async_to_sync(fetch)(mode, "get", READY).status_code == 200
        assert sessions.wait_for(lambda count: count <= before) <= before
    finally:
        sessions.close()


@dataclass
class Passes(HealthCheck):
    async def run(self) -> None:
        pass


@pytest.mark.parametrize("mode", MODES)
async def test_shared_drain_flag_is_unreadable_while_redis_is_down(
    mode: str, redis_server: RedisServer, clock: FakeClock
) -> None:
    """Drain on, then Redis killed: workers cannot read the flag and report ready again."""
    with override_settings(
        STABILITY_REDIS_URL=redis_server.url,
        STABILITY_READINESS_CHECKS=[f"{__name__}.Passes"],
    ):
        await sync_to_async(set_drain)(True)
        assert (await fetch(mode, "get", READY)).json()["status"] == "draining"
        redis_server.kill()
        clock.advance(1.0)
        response = await fetch(mode, "get", READY)
        get_engine().close()
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
