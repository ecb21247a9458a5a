"""Fixtures for breaker tests: a fake wall clock and breakers on both backends of the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_stability.breakers import BreakerConfig, CircuitBreaker
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.state.conftest import redis_engine

# A wall-clock time (the breaker compares times across processes).
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


MakeBreaker = Callable[..., CircuitBreaker]


@pytest.fixture
def make_breaker(engine: Engine, clock: FakeClock) -> MakeBreaker:
    """``make_breaker(name="b", **options)``: a breaker on the test's engine and clock."""

    def make(
        name: str = "b",
        *,
        staleness: float = 1.0,
        fallback: Callable[..., Any] | None = None,
        **options: Any,
    ) -> CircuitBreaker:
        # A callable fallback is for BreakerConfig itself; the setting names a dotted path.
        config = BreakerConfig.from_options(name, options)
        if fallback is not None:
            config = dataclasses.replace(config, fallback=fallback)
        return CircuitBreaker(
            name, config, clock=clock, engine=engine, staleness=staleness
        )

    return make
