"""Fixtures for the health tests: fresh probes on a fake clock, no drain left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_stability.health import _workers
from django_stability.health._drain import stop_local_drain
from django_stability.health._probes import ProbeSet, use_probes
from tests.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def probes(clock: FakeClock) -> Iterator[ProbeSet]:
    """Every test gets its own probes (cache on the fake clock, a fresh startup latch)."""
    fresh = ProbeSet(clock=clock)
    use_probes(fresh)
    try:
        yield fresh
    finally:
        use_probes(None)
        stop_local_drain()
        # Closes the health loop's async Redis clients with the loop.
        _workers.stop()
