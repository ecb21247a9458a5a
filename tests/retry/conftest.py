"""Fixtures for the retry tests: a fake wall clock, retries on both engines, a failing dependency."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from django_stability.state import Engine
from tests.clock import FakeClock
from tests.state.conftest import redis_engine

# A wall-clock time: the budget's window is compared across processes.
EPOCH = 1_800_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def engine(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Engine]:
    """The engine over process memory, and over the suite's Redis database."""
    if request.param == "memory":
        yield Engine(clock=clock)
        return
    with redis_engine(clock=clock) as eng:
        yield eng


@pytest.fixture
def name() -> str:
    """A retry name of this test's own, so that metrics and budgets start at zero."""
    return f"r-{uuid.uuid4().hex[:12]}"
