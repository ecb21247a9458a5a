"""A real redis-server killed, hung and restarted under the engine: calls keep answering.

Each test runs its own throwaway server (tests/fixtures/redis_server.py). State
changes are driven by the fake clock; the only waits are for a restarted
server's socket to accept, and one bounded socket timeout for the hung server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from django_stability.state import Engine
from tests.clock import FakeClock
from tests.fixtures.redis_server import RedisServer
from tests.state.conftest import LogRecords


@pytest.fixture
def engine(redis_server: RedisServer, clock: FakeClock) -> Iterator[Engine]:
    """An engine on the throwaway server, with short timeouts so a hung server costs little."""
    eng = Engine(redis_server.url, clock=clock, connect_timeout=0.3, timeout=0.3)
    yield eng
    eng.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client on the throwaway server, to see what actually reached it."""
    client = redis.Redis.from_url(
        redis_server.url, decode_responses=True, socket_timeout=2
    )
    yield client
    client.close()


def test_killed_redis_degrades_logs_once_and_comes_back_after_the_backoff(
    engine: Engine,
    redis_server: RedisServer,
    raw: redis.Redis,
    clock: FakeClock,
    state_log: LogRecords,
) -> None:
    """SIGKILL mid-run: calls answer from memory with one warning; after restart and backoff, Redis again."""
    assert engine.incr("hits", now=clock(), window=600).hits == 1
    assert engine.incr("hits", now=clock(), window=600).hits == 2
    assert engine.status().mode == "redis"

    redis_server.kill()
    answers = [engine.incr("hits", now=clock(), window=600).hits for _ in range(50)]
    assert answers == list(range(1, 51))  # process-local count, from scratch
    assert engine.status().mode == "degraded"
    assert state_log.levels() == ["WARNING"]

    redis_server.start()  # a fresh, empty server on the same port
    engine.incr("hits", now=clock(), window=600)
    assert engine.status().mode == "degraded"  # not retried before the backoff...
    assert raw.keys("*") == []  # ...so nothing reached the new server

    clock.advance(1.0)
    assert (
        engine.incr("hits", now=clock(), window=600).hits == 1
    )  # the probe: on Redis, script resent
    assert engine.status().mode == "redis"
    assert raw.keys("*") == ["stability:hits"]
    assert len(engine.memory) == 0  # the outage's local state is discarded
    assert state_log.levels() == ["WARNING", "INFO"]
    assert "reachable again after 1.0s" in state_log.messages()[1]


async def test_killed_redis_degrades_and_recovers_for_async_callers(
    engine: Engine,
    redis_server: RedisServer,
    raw: redis.Redis,
    clock: FakeClock,
    state_log: LogRecords,
) -> None:
    """The async path survives a SIGKILL the same way, and returns to Redis after the backoff."""
    try:
        await engine.aset("drain", "1", now=clock())
        redis_server.kill()
        assert (
            await engine.aget("drain", now=clock()) is None
        )  # local state starts empty
        assert await engine.aset("drain", "1", now=clock()) is True
        assert await engine.aget("drain", now=clock()) == "1"
        assert engine.status().mode == "degraded"

        redis_server.start()
        clock.advance(1.0)
        assert (
            await engine.aget("drain", now=clock()) is None
        )  # the fresh server has nothing
        assert engine.status().mode == "redis"
        assert await engine.aset("drain", "2", now=clock()) is True
        assert raw.hget("stability:drain", "v") == "2"
        assert state_log.levels() == ["WARNING", "INFO"]
    finally:
        await engine.aclose()


async def test_many_tasks_in_flight_when_redis_dies_all_get_answers(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, state_log: LogRecords
) -> None:
    """200 concurrent calls racing a SIGKILL: none raises, and the outage is logged once."""
    try:
        await engine.aincr("warm", now=clock(), window=60)

        async def hit() -> int:
            return (await engine.aincr("burst", now=clock(), window=60)).hits

        tasks = [asyncio.create_task(hit()) for _ in range(200)]
        await asyncio.sleep(
            0
        )  # let them start: some are on the wire when the server dies
        redis_server.kill()
        results = await asyncio.gather(*tasks)
        assert len(results) == 200
        assert min(results) >= 1
        assert engine.status().mode == "degraded"
        assert state_log.levels() == ["WARNING"]
    finally:
        await engine.aclose()


def test_failed_retries_back_off_exponentially_without_more_warnings(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, state_log: LogRecords
) -> None:
    """Retries while Redis stays down wait 1, 2, 4... seconds and log only at DEBUG."""
    engine.get("k", now=clock())
    redis_server.kill()
    engine.get("k", now=clock())
    assert engine.status().retry_in == 1.0
    for expected in (2.0, 4.0, 8.0):
        clock.advance(engine.status().retry_in or 0)
        engine.get("k", now=clock())
        assert engine.status().retry_in == expected
    assert engine.status().down_for == 7.0
    assert state_log.levels() == ["WARNING", "DEBUG", "DEBUG", "DEBUG"]


def test_backoff_is_capped(redis_server: RedisServer, clock: FakeClock) -> None:
    """The delay between retries never exceeds max_retry_after."""
    engine = Engine(redis_server.url, clock=clock, retry_after=10, max_retry_after=15)
    redis_server.kill()
    engine.get("k", now=clock())
    for _ in range(3):
        clock.advance(engine.status().retry_in or 0)
        engine.get("k", now=clock())
    assert engine.status().retry_in == 15
    engine.close()


def test_a_health_ping_retries_at_once_and_ends_the_outage(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, state_log: LogRecords
) -> None:
    """ping() ignores the backoff, so a readiness probe sees recovery immediately."""
    redis_server.kill()
    engine.get("k", now=clock())
    redis_server.start()
    assert engine.status().mode == "degraded"
    assert engine.ping() > 0
    assert engine.status().mode == "redis"
    assert state_log.levels() == ["WARNING", "INFO"]


def test_a_hung_redis_costs_one_timeout_then_calls_skip_it(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, state_log: LogRecords
) -> None:
    """SIGSTOP: the first call waits one socket timeout, later calls answer at memory speed."""
    engine.set("k", "v", now=clock())
    redis_server.pause()
    try:
        start = time.perf_counter()
        assert engine.get("k", now=clock()) is None
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(100):
            engine.get("k", now=clock())
        rest = time.perf_counter() - start
    finally:
        redis_server.resume()
    assert 0.25 < first < 2.0
    assert rest < 0.1
    assert engine.status().mode == "degraded"
    assert "Timeout" in (engine.status().error or "")
    clock.advance(1.0)
    assert engine.get("k", now=clock()) == "v"  # the server kept its data
    assert engine.status().mode == "redis"
    assert state_log.levels() == ["WARNING", "INFO"]


async def test_a_cancelled_retry_does_not_block_later_retries(
    engine: Engine, redis_server: RedisServer, clock: FakeClock
) -> None:
    """A probe cancelled mid-flight (client gone, timeout) lets the next call probe instead."""
    try:
        redis_server.pause()
        try:
            await engine.aget("k", now=clock())  # times out: degraded
            clock.advance(1.0)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await engine.aget(
                        "k", now=clock()
                    )  # the probe, cancelled on the hung server
        finally:
            redis_server.resume()
        assert engine.status().mode == "degraded"
        await engine.aget(
            "k", now=clock()
        )  # a new probe is allowed: no backoff was recorded
        assert engine.status().mode == "redis"
    finally:
        await engine.aclose()


def test_the_throwaway_server_reports_why_it_could_not_start(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A second server on a port already taken fails fast with redis-server's own log, not a hang."""
    clash = RedisServer(redis_server.binary, tmp_path)
    clash.port = redis_server.port
    try:
        with pytest.raises(RuntimeError, match="Address already in use"):
            clash.start()
        assert clash.process is None
    finally:
        clash.stop()
