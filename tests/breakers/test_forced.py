"""The forced state kept in the database: reading it back is quiet before ``migrate``, a warning when the database fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings
from pytest_django import DjangoDbBlocker

from django_stability.breakers._forced import forced_action
from tests.breakers.names import fresh
from tests.logcapture import capture_logs


class ReadFrom:
    """A database router sending every read to one alias."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias


def _sqlite_alias(path: Path, blocker: DjangoDbBlocker) -> Iterator[str]:
    """A ``DATABASES`` alias of this test on the SQLite file ``path``, where every read goes."""
    alias = f"overrides_{uuid.uuid4().hex[:8]}"
    connections.settings[alias] = connections.configure_settings(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}}
    )["default"]
    try:
        with blocker.unblock(), override_settings(DATABASE_ROUTERS=[ReadFrom(alias)]):
            yield alias
    finally:
        for connection in connections.all(initialized_only=True):
            if connection.alias == alias:
                connection.close()
                del connections[alias]
        del connections.settings[alias]


@pytest.fixture
def unmigrated(tmp_path: Path, django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """A database that answers but was never migrated: no breaker table."""
    yield from _sqlite_alias(tmp_path / "fresh.sqlite3", django_db_blocker)


@pytest.fixture
def unreachable(tmp_path: Path, django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """A database that cannot be opened at all (its directory does not exist)."""
    yield from _sqlite_alias(tmp_path / "missing" / "db.sqlite3", django_db_blocker)


def test_a_database_not_migrated_yet_is_logged_at_debug_only(unmigrated):
    """Before ``migrate`` there is no forced state and no table: no warning for a fresh install."""
    name = fresh("forced")
    with capture_logs(level="DEBUG") as logs:
        assert forced_action(name) is None
    line = logs.one("breaker_forced_state_unreadable", breaker=name)
    assert line["level"] == "debug"
    assert "no such table" in line["error"]


def test_a_failing_database_is_a_warning(unreachable):
    """A database that cannot answer is worth a warning, and the breaker still runs."""
    name = fresh("forced")
    with capture_logs(level="DEBUG") as logs:
        assert forced_action(name) is None
    line = logs.one("breaker_forced_state_unreadable", breaker=name)
    assert line["level"] == "warning"
    assert "unable to open database file" in line["error"]
