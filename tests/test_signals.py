"""The signals django-stability sends: receivers, sync and async, hear each breaker transition once.

``shutdown_started`` is sent from the drain thread after SIGTERM, which only a
real server process shows: ``tests/health/test_shutdown.py`` sends SIGTERM to
one and checks its receivers ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_stability.breakers import BreakerConfig, CircuitBreaker, CircuitOpenError
from django_stability.signals import breaker_state_changed
from django_stability.state import Engine
from tests.clock import FakeClock


class Boom(Exception):
    pass


def _boom() -> None:
    raise Boom


async def _aboom() -> None:
    raise Boom


@pytest.fixture
def breaker() -> CircuitBreaker:
    clock = FakeClock(1_800_000_000.0)
    config = BreakerConfig.from_options("signalled", {"failure_threshold": 2})
    return CircuitBreaker("signalled", config, clock=clock, engine=Engine(clock=clock))


@pytest.fixture
def heard() -> Iterator[list[tuple[str, str, str]]]:
    """What a sync receiver of ``breaker_state_changed`` heard, connected for the test."""
    seen: list[tuple[str, str, str]] = []

    def receiver(sender: Any, name: str, old: str, new: str, **kwargs: Any) -> None:
        seen.append((name, old, new))

    breaker_state_changed.connect(receiver)
    yield seen
    breaker_state_changed.disconnect(receiver)


def test_a_receiver_hears_the_transition_once(breaker, heard):
    for _ in range(4):
        with pytest.raises((Boom, CircuitOpenError)):
            breaker.call(_boom)
    assert heard == [("signalled", "closed", "open")]


async def test_async_receivers_are_awaited_on_the_async_path(breaker, heard):
    awaited: list[str] = []

    async def receiver(
        sender: Any, name: str, old: str, new: str, **kwargs: Any
    ) -> None:
        awaited.append(new)

    breaker_state_changed.connect(receiver)
    try:
        for _ in range(2):
            with pytest.raises(Boom):
                await breaker.acall(_aboom)
    finally:
        breaker_state_changed.disconnect(receiver)
    assert awaited == ["open"]
    assert heard == [("signalled", "closed", "open")]
