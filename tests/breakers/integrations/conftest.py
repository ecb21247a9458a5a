"""Fixtures for the integrations: a database alias on a throwaway PostgreSQL, a fake-clock breaker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import connections
from pytest_django import DjangoDbBlocker

from django_stability.breakers import BreakerConfig, CircuitBreaker
from django_stability.breakers.integrations import (
    install_database_breaker,
    uninstall_database_breaker,
)
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.fixtures.postgres_server import PostgresServer


def fake_breaker(
    clock: FakeClock, name: str = "dep", **options: object
) -> CircuitBreaker:
    """A breaker on the fake clock and a process-memory engine of its own."""
    return CircuitBreaker(
        name,
        BreakerConfig.from_options(name, options),
        clock=clock,
        engine=Engine(clock=clock),
    )


@dataclass
class FaultDb:
    """A ``DATABASES`` alias of this test only, on a throwaway server."""

    server: PostgresServer
    alias: str


@pytest.fixture
def fault_db(
    pg_server: PostgresServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[FaultDb]:
    """A new ``DATABASES`` alias pointing at the throwaway server, removed afterwards.

    The alias is not one of the test databases (nothing to create or flush),
    so the tests using it do without the ``django_db`` mark. Its name is new
    in every test: connection objects left in the threads of earlier tests
    never point a request at an earlier test's server.
    """
    alias = f"fault_{uuid.uuid4().hex[:8]}"
    connections.settings[alias] = connections.configure_settings(
        {"default": pg_server.settings()}
    )["default"]
    try:
        with django_db_blocker.unblock():
            yield FaultDb(pg_server, alias)
    finally:
        uninstall_database_breaker(alias)
        for connection in connections.all(initialized_only=True):
            if connection.alias == alias:
                connection.close()
                del connections[alias]
        del connections.settings[alias]


@pytest.fixture
def db_breaker(fault_db: FaultDb, clock: FakeClock) -> CircuitBreaker:
    """The breaker guarding the fault alias: opens on the first failure, resets after 30 s."""
    guard = fake_breaker(clock, "database:fault", failure_threshold=1, reset_timeout=30)
    install_database_breaker(fault_db.alias, guard)
    return guard
