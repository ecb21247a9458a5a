"""The database breaker against a real PostgreSQL that the tests stop and start again."""

from __future__ import annotations

import pytest
from django.db import (
    DataError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
    connections,
    transaction,
)
from django.test import override_settings

from django_stability.breakers import CircuitBreaker, CircuitOpenError
from django_stability.breakers.integrations import (
    install_database_breaker,
    is_connection_error,
    uninstall_database_breaker,
)
from django_stability.breakers.integrations._database import (
    QueryGuard,
    install_configured,
)
from tests.breakers.integrations.conftest import FaultDb, fake_breaker
from tests.clock import FakeClock
from tests.http_modes import MODES, fetch

pytestmark = pytest.mark.postgres


def _select(alias: str, sql: str = "SELECT 1") -> object:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/db/", "/api/async/db/"])
@override_settings(ROOT_URLCONF="tests.breakers.integrations.urls")
async def test_outage_answers_503_then_recovers(
    db_breaker: CircuitBreaker,
    fault_db: FaultDb,
    clock: FakeClock,
    mode: str,
    view: str,
) -> None:
    """A dead database opens the breaker: requests get a 503 problem with Retry-After until it recovers."""
    assert (await fetch(mode, "get", f"{view}{fault_db.alias}/")).json() == {"one": 1}
    fault_db.server.stop()
    failed = await fetch(mode, "get", f"{view}{fault_db.alias}/")
    # The failure that opened the breaker: the database's, answered as such.
    assert failed.status_code == 503
    assert failed.json()["code"] == "database_unavailable"
    assert await db_breaker.astate() == "open"
    refused = await fetch(mode, "get", f"{view}{fault_db.alias}/")
    assert refused.status_code == 503
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "circuit_open"
    assert refused["Retry-After"] == "30"
    fault_db.server.start()
    assert (
        await fetch(mode, "get", f"{view}{fault_db.alias}/")
    ).status_code == 503  # still open
    clock.advance(31)
    assert (await fetch(mode, "get", f"{view}{fault_db.alias}/")).json() == {"one": 1}
    assert await db_breaker.astate() == "closed"


def test_lost_connection_counts_and_next_query_is_refused_without_connecting(
    db_breaker: CircuitBreaker, fault_db: FaultDb
) -> None:
    """A connection lost mid-use counts; the next query is refused before any connection attempt."""
    assert _select(fault_db.alias) == 1
    fault_db.server.stop()
    with pytest.raises(OperationalError):
        _select(fault_db.alias)
    assert db_breaker.state == "open"
    assert connections[fault_db.alias].connection is None  # the dead link was dropped
    with pytest.raises(CircuitOpenError):
        _select(fault_db.alias)
    assert connections[fault_db.alias].connection is None  # nothing was attempted


def test_refused_connection_counts(
    db_breaker: CircuitBreaker, fault_db: FaultDb
) -> None:
    """A server that refuses connections opens the breaker."""
    fault_db.server.stop()
    with pytest.raises(OperationalError):
        _select(fault_db.alias)
    assert db_breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        _select(fault_db.alias)


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT 1/0", DataError),
        ("SELECT * FROM no_such_table", ProgrammingError),
        (
            "CREATE TEMP TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (1)",
            IntegrityError,
        ),
    ],
)
def test_query_errors_do_not_count(
    db_breaker: CircuitBreaker, fault_db: FaultDb, sql: str, error: type[Exception]
) -> None:
    """A query's own error reaches the caller unchanged and never opens the breaker."""
    with pytest.raises(error):
        _select(fault_db.alias, sql)
    assert db_breaker.state == "closed"
    assert _select(fault_db.alias) == 1


def test_statement_timeout_does_not_count(
    db_breaker: CircuitBreaker, fault_db: FaultDb
) -> None:
    """A query cancelled by statement_timeout is the query's fault: the breaker stays closed."""
    with transaction.atomic(using=fault_db.alias):
        _select(fault_db.alias, "SET LOCAL statement_timeout = 1")
        with pytest.raises(OperationalError) as caught:
            _select(fault_db.alias, "SELECT pg_sleep(5)")
    assert not is_connection_error(caught.value)
    assert db_breaker.state == "closed"


def test_open_breaker_refuses_queries_before_they_reach_the_server(
    db_breaker: CircuitBreaker, fault_db: FaultDb
) -> None:
    """While open, a query raises CircuitOpenError even though the database is up."""
    assert _select(fault_db.alias) == 1
    db_breaker.command("open")
    with pytest.raises(CircuitOpenError):
        _select(fault_db.alias)
    db_breaker.command("release")
    assert _select(fault_db.alias) == 1


def test_uninstall_lets_queries_through(
    db_breaker: CircuitBreaker, fault_db: FaultDb
) -> None:
    """After uninstall an open breaker no longer stands between the code and the database."""
    assert _select(fault_db.alias) == 1
    db_breaker.command("open")
    uninstall_database_breaker(fault_db.alias)
    assert not any(
        isinstance(w, QueryGuard) for w in connections[fault_db.alias].execute_wrappers
    )
    assert _select(fault_db.alias) == 1


def test_install_is_idempotent_and_covers_open_connections(
    fault_db: FaultDb, clock: FakeClock
) -> None:
    """Installing twice on an open connection adds one wrapper, and the last breaker wins."""
    assert _select(fault_db.alias) == 1
    first, second = fake_breaker(clock, "first"), fake_breaker(clock, "second")
    install_database_breaker(fault_db.alias, first)
    install_database_breaker(fault_db.alias, second)
    wrappers = connections[fault_db.alias].execute_wrappers
    assert sum(isinstance(w, QueryGuard) for w in wrappers) == 1
    second.command("open")
    with pytest.raises(CircuitOpenError):
        _select(fault_db.alias)
    assert first.state == "closed"


@pytest.mark.django_db
def test_connections_of_other_aliases_are_not_guarded(
    db_breaker: CircuitBreaker,
) -> None:
    """The default alias keeps working while the fault alias's breaker is open."""
    db_breaker.command("open")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1


def test_unknown_alias_is_refused() -> None:
    """Installing on an alias DATABASES lacks raises ImproperlyConfigured naming it."""
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="'nowhere'"):
        install_database_breaker("nowhere")


def test_configured_breaker_names_enable_the_integration(
    fault_db: FaultDb,
) -> None:
    """``database:<alias>`` in STABILITY_BREAKERS guards that alias; other names do not."""
    breakers: dict[str, dict[str, object]] = {
        f"database:{fault_db.alias}": {},
        "database:missing": {},
        "x": {},
    }
    with override_settings(STABILITY_BREAKERS=breakers):
        assert install_configured() == [fault_db.alias]
    assert _select(fault_db.alias) == 1
    assert any(
        isinstance(w, QueryGuard) for w in connections[fault_db.alias].execute_wrappers
    )


@pytest.mark.django_db
def test_default_database_breaker_is_named_database() -> None:
    """``database`` in STABILITY_BREAKERS guards the default alias with the breaker of that name."""
    from django_stability.breakers import breaker

    try:
        with override_settings(STABILITY_BREAKERS={"database": {}}):
            assert install_configured() == ["default"]
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT 1")
            assert breaker("database").state == "closed"
    finally:
        uninstall_database_breaker()


def test_default_name_for_other_aliases(fault_db: FaultDb) -> None:
    """Without a breaker argument the alias is guarded by the breaker ``database:<alias>``."""
    from django_stability.breakers import breaker

    install_database_breaker(fault_db.alias)
    named = breaker(f"database:{fault_db.alias}")
    named.command("open")
    try:
        with pytest.raises(CircuitOpenError):
            _select(fault_db.alias)
    finally:
        named.command("reset")
        named.command("release")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("forced", ["", "open"])
def test_forced_state_is_read_through_the_guarded_default_alias_without_looping(
    clock: FakeClock, forced: str
) -> None:
    """A breaker guarding the default alias reads its forced state over that alias once, and honours it."""
    from django_stability.models import Breaker

    Breaker.objects.create(name="database", forced=forced)
    guard = fake_breaker(clock, "database")
    connections["default"].close()
    install_database_breaker("default", guard)
    try:
        if forced:
            with pytest.raises(CircuitOpenError):
                _select("default")
            assert guard.snapshot().forced == "open"
        else:
            assert _select("default") == 1
            assert guard.state == "closed"
    finally:
        uninstall_database_breaker()
