"""Shared bulkheads: places counted across processes as leases of the shared-state engine."""

from __future__ import annotations

import asyncio

import pytest

from django_stability.bulkhead import Bulkhead, BulkheadConfig, BulkheadFull
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.fixtures.redis_server import free_port


def shared(
    engine: Engine, clock: FakeClock, *, places: int = 1, max_wait: float = 0.0
) -> Bulkhead:
    """A shared bulkhead on ``engine``, whose waits move ``clock`` instead of sleeping."""

    async def asleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    config = BulkheadConfig(
        max_concurrent=places, max_wait=max_wait, shared=True, lease=5
    )
    return Bulkhead(
        "shared", config, clock=clock, sleep=clock.advance, asleep=asleep, engine=engine
    )


def test_two_processes_count_against_one_limit(engine, clock):
    """Two bulkhead objects (as in two workers) on one engine share max_concurrent."""
    worker_a, worker_b = shared(engine, clock), shared(engine, clock)
    with worker_a, pytest.raises(BulkheadFull), worker_b:
        pass  # pragma: no cover - never entered
    with worker_b:
        pass


async def test_async_shared_calls_take_leases_too(engine, clock):
    """``async with`` takes and frees a shared lease like ``with``."""
    worker_a, worker_b = shared(engine, clock), shared(engine, clock)
    async with worker_a:
        with pytest.raises(BulkheadFull):
            async with worker_b:
                pass  # pragma: no cover - never entered
    async with worker_b:
        pass


def test_a_lease_held_too_long_frees_its_place(engine, clock):
    """A holder still inside after ``lease`` seconds no longer keeps others out."""
    worker_a, worker_b = shared(engine, clock), shared(engine, clock)
    with worker_a:
        clock.advance(5)
        with worker_b:
            pass


def test_a_waiting_call_tries_again_until_max_wait(engine, clock):
    """With max_wait, a call retries on the clock and gets in once the lease it waits for ends."""
    holder = shared(engine, clock)
    waiter = shared(engine, clock, max_wait=10)
    holder.acquire()  # taken at t, never released: its lease ends at t + 5
    start = clock.now
    with waiter:
        assert 5 <= clock.now - start < 5.2


async def test_an_async_waiting_call_gives_up_after_max_wait(engine, clock):
    """A wait shorter than the lease left ends in BulkheadFull when max_wait has passed."""
    holder = shared(engine, clock)
    waiter = shared(engine, clock, max_wait=2)
    await holder.aacquire()
    start = clock.now
    with pytest.raises(BulkheadFull):
        async with waiter:
            pass  # pragma: no cover - never entered
    assert clock.now - start == pytest.approx(2)


def test_with_redis_down_a_shared_bulkhead_counts_per_process():
    """Redis unreachable: each process keeps its own count, with the same limit; nothing raises."""
    clock = FakeClock(1_800_000_000.0)
    down = Engine(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=0.2)
    try:
        worker = shared(down, clock)
        with worker:
            assert down.mode == "degraded"
            with pytest.raises(BulkheadFull), shared(down, clock):
                pass  # pragma: no cover - never entered
        with worker:
            pass
    finally:
        down.close()
