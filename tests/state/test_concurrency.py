"""Operations stay atomic under threads, tasks and several real processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from django_stability.state import Engine
from tests import services
from tests.state.conftest import forget_keys, redis_engine

ROOT = Path(__file__).resolve().parent.parent.parent


def test_threads_incrementing_one_counter_get_distinct_counts(engine: Engine) -> None:
    """16 threads x 100 hits on one counter: every hit gets its own number, none is lost."""

    def hit(_: int) -> int:
        return engine.incr("shared", now=1.0, window=3600).hits

    with ThreadPoolExecutor(16) as pool:
        counts = list(pool.map(hit, range(1600)))
    assert sorted(counts) == list(range(1, 1601))


async def test_tasks_incrementing_one_counter_get_distinct_counts(
    engine: Engine,
) -> None:
    """500 concurrent tasks on one counter: every hit gets its own number, none is lost."""
    results = await asyncio.gather(
        *(engine.aincr("shared", now=1.0, window=3600) for _ in range(500))
    )
    assert sorted(r.hits for r in results) == list(range(1, 501))


@pytest.mark.redis
async def test_a_burst_larger_than_the_pool_waits_instead_of_failing() -> None:
    """1,000 tasks through a 4-connection pool all reach Redis: no MaxConnectionsError, no degrading."""
    with redis_engine(max_connections=4) as engine:
        results = await asyncio.gather(
            *(engine.aincr("burst", now=1.0, window=3600) for _ in range(1000))
        )
        assert sorted(r.hits for r in results) == list(range(1, 1001))
        assert engine.mode == "redis"
        await engine.aclose()


@pytest.mark.redis
def test_threads_beyond_the_sync_pool_wait_for_a_connection() -> None:
    """32 threads sharing a 2-connection sync pool all succeed against Redis."""
    with (
        redis_engine(max_connections=2) as engine,
        ThreadPoolExecutor(32) as pool,
    ):
        counts = list(
            pool.map(lambda _: engine.incr("t", now=1.0, window=3600).hits, range(640))
        )
        assert sorted(counts) == list(range(1, 641))
        assert engine.mode == "redis"


CHILD = textwrap.dedent(
    """
    import sys
    from django_stability.state import Engine

    engine = Engine(sys.argv[1], key_prefix=sys.argv[2])
    hits = [engine.incr("procs", now=1.0, window=3600).hits for _ in range(int(sys.argv[3]))]
    engine.close()
    print(engine.mode, *hits)
    """
)


@pytest.mark.redis
def test_processes_incrementing_one_counter_through_redis_lose_nothing() -> None:
    """4 worker processes x 300 hits: the counter ends at exactly 1,200, each number given once."""
    prefix = f"stability-test:{uuid.uuid4().hex}:"
    try:
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, services.REDIS_URL, prefix, "300"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [child.communicate(timeout=60)[0].split() for child in children]
        assert [child.returncode for child in children] == [0, 0, 0, 0]
        assert {out[0] for out in outputs} == {"redis"}
        assert sorted(int(n) for out in outputs for n in out[1:]) == list(
            range(1, 1201)
        )
    finally:
        forget_keys(prefix)
