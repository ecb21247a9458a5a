"""Database reads retried on connection errors, against a real PostgreSQL the tests stop and restart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, ProgrammingError, connections, transaction
from pytest_django import DjangoDbBlocker

from django_stability.retry import retry_reads
from tests.fixtures.postgres_server import PostgresServer, database_alias
from tests.retry.support import outcomes

pytestmark = pytest.mark.postgres

NO_WAIT = {"wait_initial": 0, "wait_max": 0, "budget": None}


@pytest.fixture
def alias(
    pg_server: PostgresServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[str]:
    """A ``DATABASES`` alias of this test only, on the throwaway server."""
    with database_alias(pg_server) as new, django_db_blocker.unblock():
        yield new


@pytest.fixture(autouse=True)
def no_wait(settings: Any, name: str) -> None:
    settings.STABILITY_RETRIES = {name: NO_WAIT}


class Reads:
    """``SELECT 1`` on an alias, counting the attempts."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.attempts = 0

    def __call__(self, sql: str = "SELECT 1") -> int:
        self.attempts += 1
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql)
            return int(cursor.fetchone()[0])

    async def acall(self) -> int:
        return await sync_to_async(self)()


def restart(server: PostgresServer) -> None:
    """A crash and a restart: every open connection to the server is dead, new ones work."""
    server.stop()
    server.start()


def test_a_read_after_a_restart_reconnects_and_succeeds(alias, pg_server, name):
    """The first attempt meets the dead connection; the retry reconnects. Without it, the read fails."""
    reads = Reads(alias)
    assert reads() == 1
    restart(pg_server)
    with pytest.raises(OperationalError):
        reads()  # no retry: the dead connection's error reaches the caller
    restart(pg_server)
    assert retry_reads(name, using=alias)(reads)() == 1
    assert reads.attempts == 1 + 1 + 2
    assert outcomes(name) == {"retried": 1, "recovered": 1}


async def test_an_async_read_after_a_restart_reconnects_and_succeeds(
    alias, pg_server, name
):
    """Async: the connection closed before the retry is the one the async ORM's thread uses."""
    reads = Reads(alias)
    assert await reads.acall() == 1
    await sync_to_async(restart)(pg_server)
    assert await retry_reads(name, using=alias)(reads.acall)() == 1
    assert reads.attempts == 1 + 2
    assert outcomes(name) == {"retried": 1, "recovered": 1}


def test_nothing_is_retried_inside_a_transaction(alias, pg_server, name):
    """Inside ``atomic()`` the transaction may have written: the error is raised at the first attempt."""
    reads = Reads(alias)
    assert reads() == 1
    restart(pg_server)
    with pytest.raises(OperationalError), transaction.atomic(using=alias):
        retry_reads(name, using=alias).call(reads)
    assert reads.attempts == 1 + 1
    assert outcomes(name) == {"in_transaction": 1}


def test_nothing_is_retried_without_autocommit(pg_server, django_db_blocker, name):
    """With ``AUTOCOMMIT`` off every query is in a transaction: nothing is retried either."""
    with (
        database_alias(pg_server, AUTOCOMMIT=False) as alias,
        django_db_blocker.unblock(),
    ):
        reads = Reads(alias)
        assert reads() == 1
        restart(pg_server)
        with pytest.raises(OperationalError):
            retry_reads(name, using=alias).call(reads)
    assert reads.attempts == 1 + 1
    assert outcomes(name) == {"in_transaction": 1}


def test_a_server_that_stays_down_gets_its_attempts_then_the_error(
    alias, pg_server, name
):
    """Stopped for good: three attempts (the default), then the connection error."""
    reads = Reads(alias)
    pg_server.stop()
    with pytest.raises(OperationalError):
        retry_reads(name, using=alias).call(reads)
    assert reads.attempts == 3
    assert outcomes(name) == {"retried": 2, "exhausted": 1}


def test_a_query_s_own_error_is_not_retried(alias, name):
    """A syntax error is the query's, not the connection's: raised at once."""
    reads = Reads(alias)
    with pytest.raises(ProgrammingError):
        retry_reads(name, using=alias).call(reads, "SELEC 1")
    assert reads.attempts == 1
    assert outcomes(name) == {}
