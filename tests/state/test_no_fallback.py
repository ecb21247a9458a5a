"""Operations built with ``fallback=False``: they raise instead of running on process memory.

A real throwaway redis-server is killed, frozen and restarted under the
engine; the fake clock drives the retry backoff.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_stability.state import Engine, MemoryStore, Operation, StateUnavailable
from tests.clock import FakeClock
from tests.fixtures.redis_server import RedisServer

pytestmark = [pytest.mark.redis]


def _bump_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    value = int(store.get(keys[0]) or 0) + 1
    store.set(keys[0], str(value))
    return value


BUMP: Operation[int] = Operation(
    "bump", "return redis.call('INCR', KEYS[1])", _bump_local, int, fallback=False
)
BUMP_ANYWAY: Operation[int] = Operation(
    "bump_anyway", "return redis.call('INCR', KEYS[1])", _bump_local, int
)


@pytest.fixture
def engine(redis_server: RedisServer, clock: FakeClock) -> Iterator[Engine]:
    eng = Engine(redis_server.url, clock=clock, connect_timeout=0.3, timeout=0.3)
    yield eng
    eng.close()


def test_no_fallback_raises_while_down_and_runs_on_redis_after_the_backoff(
    engine: Engine, redis_server: RedisServer, clock: FakeClock
) -> None:
    """Killed: the call that meets the outage and those during the backoff raise; the probe goes to Redis."""
    assert engine.run(BUMP, ["n"]) == 1
    redis_server.kill()
    with pytest.raises(StateUnavailable, match="bump has no process-local fallback"):
        engine.run(BUMP, ["n"])
    with pytest.raises(StateUnavailable, match="ConnectionError"):
        engine.run(BUMP, ["n"])  # refused during the backoff, naming the outage
    assert engine.run(BUMP_ANYWAY, ["n"]) == 1  # an ordinary operation degrades
    engine.memory.flush()
    assert engine.status().mode == "degraded"

    redis_server.start()
    clock.advance(1.0)
    assert engine.run(BUMP, ["n"]) == 1  # the probe, on the fresh server
    assert engine.status().mode == "redis"
    assert len(engine.memory) == 0


async def test_no_fallback_raises_for_async_callers_on_a_frozen_redis(
    engine: Engine, redis_server: RedisServer, clock: FakeClock
) -> None:
    """Frozen past the timeout: arun raises; after SIGCONT and the backoff it answers from Redis."""
    try:
        assert await engine.arun(BUMP, ["n"]) == 1
        redis_server.pause()
        try:
            with pytest.raises(StateUnavailable):
                await engine.arun(BUMP, ["n"])
            with pytest.raises(StateUnavailable):
                await engine.arun(BUMP, ["n"])
        finally:
            redis_server.resume()
        clock.advance(1.0)
        # The frozen call's INCR may have run once Redis woke up: 2 or 3, never 1.
        assert await engine.arun(BUMP, ["n"]) in (2, 3)
        assert engine.status().mode == "redis"
    finally:
        await engine.aclose()


def test_no_fallback_still_runs_locally_in_memory_mode(clock: FakeClock) -> None:
    """Without a Redis URL process memory is the store, not a fallback."""
    engine = Engine(clock=clock)
    assert [engine.run(BUMP, ["n"]) for _ in range(3)] == [1, 2, 3]
