"""The health checks, as django-health-check ``HealthCheck`` dataclasses.

Each one works in django-stability's probes and in any ``HealthCheckView``;
``run()`` is async, and blocking work runs in a health-check thread."""

from __future__ import annotations

import dataclasses
import importlib
import uuid
from typing import Any, ClassVar

from django.core.cache import caches
from django.db import connections
from health_check.base import HealthCheck
from health_check.exceptions import (
    ServiceReturnedUnexpectedResult,
    ServiceUnavailable,
    ServiceWarning,
)

from django_stability.health._channels import ChannelLayer
from django_stability.health._described import MAX_MESSAGE, Described, describe
from django_stability.health._pool import pool_detail
from django_stability.health._workers import in_thread
from django_stability.state import Engine, StateUnavailable, get_engine

__all__ = [
    "Breakers",
    "Cache",
    "ChannelLayer",
    "Database",
    "Migrations",
    "Redis",
]


def _connection(alias: str) -> Any:
    try:
        return connections[alias]
    except Exception as exc:  # ConnectionDoesNotExist, or a bad ENGINE
        raise ServiceUnavailable(describe(exc)) from exc


@dataclasses.dataclass
class Database(Described, HealthCheck):
    """``SELECT 1`` on a database through Django's own connection path, pool included.

    With psycopg's pool the detail gives the pool's size, idle connections
    and waiting requests, also exported as ``stability_db_pool_*`` metrics.

    Args:
        alias: The ``DATABASES`` alias.

    .. versionadded:: 0.1
    """

    alias: str = "default"
    probe_name: ClassVar[str] = "database"

    async def run(self) -> None:
        self.detail = await in_thread(self._select_one)

    def _select_one(self) -> str:
        connection = _connection(self.alias)
        opened = connection.connection is None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                row = cursor.fetchone()
        except Exception as exc:  # any driver or pool error means "not usable now"
            raise ServiceUnavailable(describe(exc)) from exc
        finally:
            if opened:
                connection.close()
        if row is None or row[0] != 1:
            raise ServiceReturnedUnexpectedResult(f"SELECT 1 returned {row!r}")
        return f"SELECT 1 on {connection.vendor}; {pool_detail(connection)}"


@dataclasses.dataclass
class Cache(Described, HealthCheck):
    """Set, read back and delete a unique key in a Django cache.

    Args:
        alias: The ``CACHES`` alias.

    .. versionadded:: 0.1
    """

    alias: str = "default"
    probe_name: ClassVar[str] = "cache"

    async def run(self) -> None:
        self.detail = await in_thread(self._round_trip)

    def _round_trip(self) -> str:
        cache = caches[self.alias]
        key = f"stability:health:{uuid.uuid4().hex}"
        try:
            cache.set(key, "ok", timeout=30)
            value = cache.get(key)
            cache.delete(key)
        except Exception as exc:  # backend errors (django-redis, memcached...) vary
            raise ServiceUnavailable(describe(exc)) from exc
        if value != "ok":
            raise ServiceReturnedUnexpectedResult(
                f"a value just set read back as {value!r}: the cache stores nothing "
                "(a DummyCache, or a backend told to ignore its errors, such as "
                "django-redis with IGNORE_EXCEPTIONS while Redis is down)"
            )
        return f"set, get and delete on {type(cache).__name__}"


@dataclasses.dataclass
class Redis(Described, HealthCheck):
    """PING the shared-state engine's Redis (or the Redis at ``url``).

    Without ``STABILITY_REDIS_URL`` (state in process memory) the check passes
    and says so; a successful PING also ends an outage the engine recorded.

    Args:
        url: Another Redis to ping instead of the engine's; kept out of
            ``repr`` (and so out of reports and metric labels) since it may
            hold a password.

    .. versionadded:: 0.1
    """

    url: str | None = dataclasses.field(default=None, repr=False)
    probe_name: ClassVar[str] = "redis"

    async def run(self) -> None:
        if self.url is None:
            self.detail = await self._ping(get_engine())
            return
        engine = Engine(self.url)
        try:
            self.detail = await self._ping(engine)
        finally:
            await engine.aclose()
            engine.close()

    @staticmethod
    async def _ping(engine: Engine) -> str:
        if engine.mode == "memory":
            return "not configured: shared state is kept in process memory"
        try:
            seconds = await engine.aping()
        except StateUnavailable as exc:
            raise ServiceUnavailable(str(exc)[:MAX_MESSAGE]) from exc
        return f"PING in {seconds * 1000:.2f} ms"


@dataclasses.dataclass
class Breakers(Described, HealthCheck):
    """Report circuit breakers that are open: a warning, or a failure when ``critical``.

    The states come from ``django_stability.breakers.all_breakers()``; when
    the breakers capability is not installed the check passes and says so.

    Args:
        critical: An open breaker fails the check (and a probe running it)
            instead of warning.

    .. versionadded:: 0.1
    """

    critical: bool = False
    probe_name: ClassVar[str] = "breakers"

    async def run(self) -> None:
        try:
            module: Any = importlib.import_module("django_stability.breakers")
            all_breakers = module.all_breakers
        except (ImportError, AttributeError):
            self.detail = "breakers not installed"
            return
        # A breaker's state may live in Redis: read it off the event loop.
        states = await in_thread(
            lambda: [(b.name, _state(b.state)) for b in all_breakers()]
        )
        opened = sorted(name for name, state in states if state == "open")
        half = sorted(name for name, state in states if state == "half_open")
        if opened:
            message = f"open: {', '.join(opened)}"[:MAX_MESSAGE]
            raise (ServiceUnavailable if self.critical else ServiceWarning)(message)
        detail = f"{len(states)} breaker(s), none open"
        self.detail = detail + (f"; half-open: {', '.join(half)}" if half else "")


def _state(state: Any) -> str:
    # "open", or an enum member whose value is "open".
    return str(getattr(state, "value", state))


@dataclasses.dataclass
class Migrations(Described, HealthCheck):
    """Fail while a database has migrations that are not applied yet.

    Args:
        alias: The ``DATABASES`` alias.

    .. versionadded:: 0.1
    """

    alias: str = "default"
    probe_name: ClassVar[str] = "migrations"

    async def run(self) -> None:
        self.detail = await in_thread(self._pending)

    def _pending(self) -> str:
        from django.db.migrations.executor import MigrationExecutor

        connection = _connection(self.alias)
        opened = connection.connection is None
        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:  # the database is down, or a migration is broken
            raise ServiceUnavailable(describe(exc)) from exc
        finally:
            if opened:
                connection.close()
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
            raise ServiceUnavailable(
                f"{len(plan)} migration(s) not applied: {names}{more}"[:MAX_MESSAGE]
            )
        return "all migrations applied"
