"""psycopg pool statistics in the database check's detail and in the stability_db_pool_* gauges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.utils import ConnectionHandler
from prometheus_client import REGISTRY

from django_stability.db import database_from_env
from django_stability.health import record_pool_metrics
from django_stability.health._pool import pool_detail
from tests import services
from tests.fixtures.postgres_server import PostgresServer

SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


def gauge(name: str, alias: str) -> float | None:
    return REGISTRY.get_sample_value(f"stability_db_pool_{name}", {"database": alias})


@pytest.fixture
def pooled(django_db_blocker: Any) -> Iterator[ConnectionHandler]:
    """An alias of its own on the suite's PostgreSQL, pooled (2 to 3 connections)."""
    env = {
        "DATABASE_URL": services.POSTGRES_URL,
        "DB_POOL_MIN": "2",
        "DB_POOL_MAX": "3",
    }
    handler = ConnectionHandler(
        {"default": SQLITE, "healthpool": database_from_env(env)}
    )
    with django_db_blocker.unblock():
        try:
            yield handler
        finally:
            handler.close_all()
            cast("PostgresWrapper", handler["healthpool"]).close_pool()


@pytest.mark.postgres
def test_detail_and_gauges_show_the_pool(pooled: ConnectionHandler) -> None:
    """After a query the detail gives size, idle and waiting, and the gauges carry the same figures."""
    wrapper = pooled["healthpool"]
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        detail = pool_detail(wrapper)
    assert detail.startswith("pool ") and detail.endswith(" waiting")
    assert "/3 open" in detail
    wrapper.close()
    record_pool_metrics()
    assert gauge("max", "healthpool") == 3
    assert gauge("waiting", "healthpool") == 0
    size = gauge("size", "healthpool")
    assert size is not None and 1 <= size <= 3


def test_no_pool_is_said_so() -> None:
    """A connection without a pool (SQLite) gives "no pool" and touches no gauge."""
    handler = ConnectionHandler({"default": SQLITE})
    assert pool_detail(handler["default"]) == "no pool"


def test_pooled_connections_survive_a_postgres_restart(
    pg_server: PostgresServer, django_db_blocker: Any
) -> None:
    """After PostgreSQL restarts, the next query gets a checked, fresh connection instead of an error."""
    env = {"DATABASE_URL": pg_server.url, "DB_POOL_MIN": "1", "DB_POOL_MAX": "2"}
    handler = ConnectionHandler({"default": SQLITE, "restart": database_from_env(env)})
    wrapper = cast("PostgresWrapper", handler["restart"])
    with django_db_blocker.unblock():
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (before,) = cursor.fetchone()
            wrapper.close()  # back into the pool, idle
            pg_server.stop()
            pg_server.start()
            with wrapper.cursor() as cursor:  # the first query after the restart
                cursor.execute("SELECT pg_backend_pid()")
                (after,) = cursor.fetchone()
            assert after != before
        finally:
            handler.close_all()
            wrapper.close_pool()
