"""psycopg pool statistics: the database check's detail and the ``stability_db_pool_*`` gauges."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_stability import metrics

PoolStats = dict[str, int]


def pool_stats(connection: Any) -> PoolStats | None:
    """psycopg_pool's ``get_stats()`` for ``connection``'s pool; ``None`` without a pool."""
    pool = getattr(connection, "pool", None)  # Django's PostgreSQL backend only
    if pool is None:
        return None
    stats: PoolStats = pool.get_stats()
    return stats


def pool_detail(connection: Any) -> str:
    """``"pool 3/10 open, 2 idle, 0 waiting"`` (and the gauges updated), or ``"no pool"``."""
    stats = pool_stats(connection)
    if stats is None:
        return "no pool"
    record(connection.alias, stats)
    return (
        f"pool {stats.get('pool_size', 0)}/{stats.get('pool_max', 0)} open, "
        f"{stats.get('pool_available', 0)} idle, {stats.get('requests_waiting', 0)} waiting"
    )


def record(alias: str, stats: PoolStats) -> None:
    metrics.db_pool_size.labels(alias).set(stats.get("pool_size", 0))
    metrics.db_pool_available.labels(alias).set(stats.get("pool_available", 0))
    metrics.db_pool_waiting.labels(alias).set(stats.get("requests_waiting", 0))
    metrics.db_pool_max.labels(alias).set(stats.get("pool_max", 0))


def record_pool_metrics() -> None:
    """Refresh the ``stability_db_pool_*`` gauges of every psycopg pool of this process.

    Call it before an exposition. Only pools that already exist are read:
    reading the statistics never opens a pool or a connection.

    .. versionadded:: 0.1
    """
    try:
        from django.db.backends.postgresql.base import DatabaseWrapper
    except (ImportError, ImproperlyConfigured):  # psycopg is not installed
        return
    # Django keeps one pool per alias on the class, shared by every thread's wrapper.
    pools: dict[str, Any] = getattr(DatabaseWrapper, "_connection_pools", {})
    for alias, pool in list(pools.items()):
        record(alias, pool.get_stats())
