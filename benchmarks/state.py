"""Cost of one shared-state operation, in microseconds: memory vs Redis, sync vs async.

Run: ``.venv/bin/python benchmarks/state.py [REDIS_URL]`` (default: the test
suite's database 14 on 127.0.0.1). Prints the median of several rounds per row.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_stability.state import Engine  # noqa: E402

ROUNDS = 7


def bench(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def abench(fn: Callable[[], Awaitable[object]], n: int) -> float:
    async def rounds() -> list[float]:
        samples = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(n):
                await fn()
            samples.append((time.perf_counter() - start) / n * 1e6)
        return samples

    return statistics.median(asyncio.run(rounds()))


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/14"
    memory = Engine()
    remote = Engine(url)
    down = Engine(
        "redis://127.0.0.1:1/0"
    )  # nothing listens: degraded after the first call
    down.get("k", now=0.0)
    raw = remote.redis_client()
    assert raw is not None
    rows = [
        (
            "memory  incr (sync)",
            bench(lambda: memory.incr("k", now=time.time(), window=60), 20_000),
        ),
        (
            "memory  incr (async)",
            abench(lambda: memory.aincr("k", now=time.time(), window=60), 20_000),
        ),
        ("memory  get (sync)", bench(lambda: memory.get("k", now=time.time()), 20_000)),
        (
            "degraded incr (sync)",
            bench(lambda: down.incr("k", now=time.time(), window=60), 20_000),
        ),
        (
            "redis   incr (sync)",
            bench(lambda: remote.incr("k", now=time.time(), window=60), 2_000),
        ),
        (
            "redis   incr (async)",
            abench(lambda: remote.aincr("k", now=time.time(), window=60), 2_000),
        ),
        ("redis   get (sync)", bench(lambda: remote.get("k", now=time.time()), 2_000)),
        ("redis-py PING, for reference", bench(raw.ping, 2_000)),
    ]
    remote.delete("k")
    remote.close()
    down.close()
    width = max(len(name) for name, _ in rows)
    for name, micros in rows:
        print(f"{name:<{width}}  {micros:8.1f} µs")


if __name__ == "__main__":
    main()
