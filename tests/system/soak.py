"""One soak run: load on three workers while the fault schedule breaks their dependencies.

``run_soak(cluster, seconds)`` drives the clients of ``load.py`` for
``seconds``, injects the faults at fixed offsets (repeated when the run is
long enough for more than one round), watches readiness, breakers and memory
twice a second, lets every subscriber catch up once the broadcasts stop, and
returns a :class:`Result` for the invariant tests to judge.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.system.harness import ROOT, Cluster
from tests.system.load import (
    CHANNEL,
    EventSourceSubscriber,
    Record,
    Subscriber,
    Targets,
    WebSocketSubscriber,
    draft_user,
    identity,
    rate_burst,
)

WARMUP = 10.0  # seconds of load before the first fault, and the memory baseline
ROUND = 60.0  # seconds one round of the five faults takes, recovery included
SETTLE = 10.0  # seconds of load after the last fault
CATCH_UP = 30.0  # bound on the subscribers' final replay (a fresh connection each)
BREAKER = re.compile(r'^stability_breaker_state\{breaker="([^"]+)"\} (\S+)$', re.M)
WRITERS, WS_CLIENTS, SSE_CLIENTS = 6, 6, 3


@dataclass
class Fault:
    name: str
    start: float
    end: float
    wall: str = ""


@dataclass
class Result:
    seconds: float
    record: Record
    faults: list[Fault]
    subscribers: list[Subscriber]
    broadcasts: list[tuple[int, int, float]]  # (n, id, time) acknowledged
    broadcast_errors: int
    stored: dict[str, tuple[int, int] | None]  # key -> (version, n) read at the end
    ready: list[tuple[float, int, int]] = field(default_factory=list)
    breakers: list[tuple[float, int, str, float]] = field(default_factory=list)
    final_breakers: dict[str, str] = field(default_factory=dict)
    rss: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    restarted: dict[int, float] = field(default_factory=dict)
    connections: int = -1
    pool_bounds: tuple[int, int] = (0, 0)
    wall_seconds: float = 0.0
    started_at: str = ""


def schedule(seconds: float) -> list[tuple[float, str, float]]:
    """``(offset, fault, duration)`` for a run of ``seconds``: one round, more if it fits."""
    rounds = max(1, int((seconds - WARMUP - SETTLE) // ROUND))
    plan = []
    for r in range(rounds):
        base = WARMUP + r * ROUND
        plan += [
            (base, "redis-kill", 1.0),
            (base + 15, "redis-freeze", 5.0),
            # Every Redis connection reset, no data lost: nothing may crash or reset.
            (base + 24, "redis-reset", 0.5),
            (base + 30, "postgres-stop", 5.0),
            (base + 45, "worker-kill", 1.0),
        ]
    return plan


async def _inject(cluster: Cluster, result: Result, t0: float, until: float) -> None:
    actions: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "redis-kill": (cluster.redis.kill, cluster.redis.start),
        "redis-freeze": (cluster.redis.pause, cluster.redis.resume),
        "redis-reset": (cluster.redis_reset, lambda: None),
        "postgres-stop": (cluster.pg_stop, cluster.pg_start),
    }
    for offset, name, duration in schedule(result.seconds):
        await asyncio.sleep(max(0.0, t0 + offset - time.monotonic()))
        if time.monotonic() >= until:
            return
        fault = Fault(
            name, time.monotonic(), 0.0, datetime.now(UTC).strftime("%H:%M:%S")
        )
        result.faults.append(fault)
        if name == "worker-kill":
            victim = cluster.workers[
                int((offset - WARMUP) // ROUND) % len(cluster.workers)
            ]
            victim.kill()
            await asyncio.sleep(duration)
            await asyncio.to_thread(victim.start)
            result.restarted[victim.index] = time.monotonic()
        else:
            begin, finish = actions[name]
            await asyncio.to_thread(begin)
            await asyncio.sleep(duration)
            await asyncio.to_thread(finish)
        fault.end = time.monotonic()


async def _watch(cluster: Cluster, result: Result, until: float) -> None:
    """Twice a second: each worker's readiness, breaker gauges and RSS."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        while time.monotonic() < until:
            for worker in cluster.workers:
                now = time.monotonic()
                if (rss := worker.rss()) is not None:
                    result.rss.setdefault(worker.index, []).append((now, rss))
                try:
                    ready = await client.get(f"{worker.base}/stability/health/ready")
                    result.record.add("ready", worker.index, now, ready)
                    result.ready.append((now, worker.index, ready.status_code))
                    live = await client.get(f"{worker.base}/stability/health/live")
                    result.record.add("live", worker.index, now, live)
                    metrics = await client.get(f"{worker.base}/stability/metrics")
                except httpx.HTTPError:
                    result.record.add("ready", worker.index, now, None)
                    continue
                for name, value in BREAKER.findall(metrics.text):
                    result.breakers.append((now, worker.index, name, float(value)))
            await asyncio.sleep(0.5)


def _broadcaster(cluster: Cluster, seconds: float) -> subprocess.Popen[bytes]:
    """The numbered broadcasts, from a process of their own with the workers' settings."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.system._broadcaster", CHANNEL, str(seconds), "0.2",
         str(cluster.tmp / "broadcasts.log")],
        cwd=ROOT, env=cluster.env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _read_broadcasts(path: Path) -> tuple[list[tuple[int, int, float]], int]:
    acked, errors = [], 0
    for line in path.read_text().splitlines():
        parts = line.split()
        if parts[1] == "ERR":
            errors += 1
        else:
            acked.append((int(parts[0]), int(parts[1]), float(parts[2])))
    return acked, errors


async def _until_quiet(step: Callable[[], Awaitable[bool]], deadline: float) -> None:
    """Poll ``step`` (real servers, outside this process) once a second until it is true."""
    for _ in range(600):
        if time.monotonic() >= deadline or await step():
            return
        await asyncio.sleep(1)


async def _finish(cluster: Cluster, result: Result) -> None:
    """After the load: read back every draft, wait for breakers and the pool to settle."""
    staff = identity(cluster.staff, "10.0.1.1")
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0), headers=staff) as client:

        async def closed() -> bool:
            answer = await client.get(f"{cluster.workers[0].base}/stability/breakers/")
            if answer.status_code != 200:
                return False
            result.final_breakers = {
                b["name"]: b["state"] for b in answer.json()["breakers"]
            }
            return all(state == "closed" for state in result.final_breakers.values())

        await _until_quiet(closed, time.monotonic() + 40)
        for n, session in enumerate(cluster.sessions[:WRITERS]):
            key = f"soak-{n}"
            answer = await client.get(
                f"{cluster.workers[n % 3].base}/stability/drafts/{key}",
                headers=identity(session, f"10.0.2.{n}"),
            )
            result.stored[key] = (
                (int(answer.json()["version"]), int(answer.json()["data"]["n"]))
                if answer.status_code == 200
                else None
            )


def _caught_up(subscriber: Subscriber, target: int) -> Callable[[], bool]:
    return lambda: (subscriber.last_id or 0) >= target


def run_soak(cluster: Cluster, seconds: float) -> Result:
    return asyncio.run(_run(cluster, seconds))


async def _run(cluster: Cluster, seconds: float) -> Result:
    wall = time.monotonic()
    result = Result(seconds, Record(), [], [], [], 0, {})
    result.started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result.pool_bounds = (1 * len(cluster.workers), 4 * len(cluster.workers))
    targets = Targets([w.port for w in cluster.workers])
    t0 = time.monotonic()
    until = t0 + seconds
    sessions = cluster.sessions
    ws = [
        WebSocketSubscriber(f"ws-{n}", sessions[WRITERS + n], f"10.0.3.{n}", n)
        for n in range(WS_CLIENTS)
    ]
    sse = [
        EventSourceSubscriber(f"sse-{n}", sessions[n], f"10.0.4.{n}", 100 + n)
        for n in range(SSE_CLIENTS)
    ]
    result.subscribers = [*ws, *sse]
    tasks = [
        asyncio.create_task(s.run(targets, result.record, until, lambda: False))
        for s in result.subscribers
    ]
    await asyncio.sleep(3)  # subscribers connect before the first broadcast
    broadcaster = _broadcaster(cluster, seconds - 3 - SETTLE / 2)
    tasks += [
        asyncio.create_task(draft_user(n, sessions[n], targets, result.record, until))
        for n in range(WRITERS)
    ]
    tasks += [
        asyncio.create_task(rate_burst(targets, result.record, until)),
        asyncio.create_task(_watch(cluster, result, until)),
        asyncio.create_task(_inject(cluster, result, t0, until)),
    ]
    await asyncio.gather(*tasks)
    await asyncio.to_thread(broadcaster.wait, 60)
    result.broadcasts, result.broadcast_errors = _read_broadcasts(
        cluster.tmp / "broadcasts.log"
    )
    target = max((i for _, i, _ in result.broadcasts), default=0)
    deadline = time.monotonic() + CATCH_UP
    await asyncio.gather(
        *(
            s.run(targets, result.record, deadline, _caught_up(s, target))
            for s in result.subscribers
        )
    )
    await _finish(cluster, result)
    await asyncio.sleep(2)
    result.connections = await asyncio.to_thread(cluster.client_connections)
    result.wall_seconds = time.monotonic() - wall
    return result
