"""Queries under a deadline on the real PostgreSQL: cancelled when it passes, refused after it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection, connections, transaction
from django.test import override_settings

from django_stability.deadline import DeadlineExceeded, deadline
from tests.clock import FakeClock
from tests.deadline.support import MIDDLEWARE
from tests.http_modes import MODES, fetch

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
async def _close_worker_connections():
    """Close the connection the sync_to_async worker thread opened, so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/api/query/", "/api/async/query/"])
@override_settings(
    ROOT_URLCONF="tests.deadline.support",
    MIDDLEWARE=MIDDLEWARE,
    STABILITY_DEADLINES={"/api/": 0.5},
)
async def test_a_slow_query_is_cancelled_at_the_deadline(mode, path):
    """``SELECT pg_sleep(5)`` under a 0.5 s deadline is cancelled by PostgreSQL: 504 deadline_exceeded."""
    response = await fetch(mode, "get", path)
    assert response.status_code == 504
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "deadline_exceeded"
    assert body["title"] == "Deadline exceeded"
    assert body["correlation_id"] == response["X-Correlation-ID"]


def test_the_cancel_comes_from_postgresql():
    """Under the deadline the query is cancelled by the server (SQLSTATE 57014), not abandoned."""
    with (
        pytest.raises(DeadlineExceeded) as stopped,
        deadline(0.3),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT pg_sleep(5)")
    assert stopped.value.where == "database"
    database_error = stopped.value.__cause__
    assert database_error is not None
    assert getattr(database_error.__cause__, "sqlstate", None) == "57014"


def test_no_query_starts_after_the_deadline():
    """Once the time is up a query is refused before it reaches the server."""
    clock = FakeClock()
    with deadline(1, clock=clock), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        clock.advance(1)
        with pytest.raises(DeadlineExceeded):
            cursor.execute("SELECT 1")


def test_a_connection_gets_its_own_timeout_back_after_the_deadline():
    """The timeout a deadline set does not stay on the session for later work without one."""
    before = statement_timeout()
    clock = FakeClock()
    with deadline(2, clock=clock):
        assert statement_timeout() == "2s"
    assert statement_timeout() == before


def test_a_fast_query_under_a_deadline_answers_normally():
    """A query well within its time returns its rows, inside a transaction too."""
    with deadline(10), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 40 + 2")
        assert cursor.fetchone() == (42,)


def test_a_tighter_session_default_is_kept_and_its_cancel_is_not_a_deadline():
    """A statement_timeout shorter than the deadline stays in force; its cancel is the usual error."""
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    options["options"] = "-c statement_timeout=200"
    try:
        with deadline(30):
            assert statement_timeout() == "200ms"
            with pytest.raises(OperationalError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(5)")
    finally:
        connection.close()
        del options["options"]


def test_a_server_side_cursor_runs_under_a_deadline():
    """QuerySet.iterator() (a named cursor on PostgreSQL) works under a deadline."""
    from django.contrib.contenttypes.models import ContentType

    with deadline(10), transaction.atomic():
        names = [ct.model for ct in ContentType.objects.iterator(chunk_size=2)]
    assert names == [ct.model for ct in ContentType.objects.all()]
