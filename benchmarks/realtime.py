"""Realtime: memory per idle connection and broadcast latency, under uvicorn, one run.

Three stacks, each in its own uvicorn process on a free loopback port and
sharing one Redis (the replay log and channel layer; django-eventstream's
pub/sub): our ``ResilientConsumer`` (WebSocket), a plain Channels
``AsyncJsonWebsocketConsumer`` in a group (``benchmarks/_plain_consumer.py``)
and django-eventstream (SSE). For each, this process opens ``CONNECTIONS``
idle subscribers and reads the server's resident memory before and after,
then broadcasts ``ROUNDS`` events through the server's ``POST /broadcast/``
and times each one from the POST to its arrival at every subscriber.

Run: ``.venv/bin/python benchmarks/realtime.py [REDIS_URL] [--connections N]``
(default: the test suite's database 14 on 127.0.0.1). Its keys carry a unique
marker and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONNECTIONS = 1000
ROUNDS = 20
CONNECT_BATCH = 50  # connections opened at once
STARTUP = 30.0  # seconds for a server to listen
SETTLE = 2.0  # seconds for the server to finish accepting before memory is read
WAIT = 30.0  # seconds for one phase (all connected, one broadcast delivered)
STACKS = {
    "ours": "django-stability ResilientConsumer (WebSocket)",
    "channels": "plain Channels AsyncJsonWebsocketConsumer (WebSocket)",
    "eventstream": "django-eventstream (SSE)",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")  # pragma: no cover - Linux always has it


@dataclass
class Round:
    expected: int
    started: float = 0.0
    arrivals: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self) -> None:
        self.arrivals.append(time.perf_counter() - self.started)
        if len(self.arrivals) == self.expected:
            self.done.set()


@dataclass
class Subscribers:
    """What the client tasks share: the round being timed, how many are ready."""

    count: int
    ready: int = 0
    all_ready: asyncio.Event = field(default_factory=asyncio.Event)
    rounds: dict[int, Round] = field(default_factory=dict)

    def subscribed(self) -> None:
        self.ready += 1
        if self.ready == self.count:
            self.all_ready.set()

    def event(self, seq: int) -> None:
        if (current := self.rounds.get(seq)) is not None:
            current.arrived()


async def websocket_client(url: str, subs: Subscribers, *, ours: bool) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, open_timeout=WAIT, close_timeout=1, max_queue=None) as ws:
        if not ours:  # the plain consumer sends nothing on connect
            subs.subscribed()
        async for raw in ws:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "event":
                subs.event(message["data"]["seq"])
            elif kind == "heartbeat":
                await ws.send('{"type": "heartbeat"}')
            elif kind == "subscribed":
                subs.subscribed()


async def sse_client(port: int, path: str, subs: Subscribers) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b" 200 " in status, status
        opened = False
        async for line in reader:
            if not opened and line.startswith(b"event: stream-open"):
                opened = True
                subs.subscribed()
            # Chunked framing puts sizes on lines of their own: only data lines matter.
            elif line.startswith(b"data: {"):
                subs.event(json.loads(line[6:])["seq"])
    finally:
        writer.close()


class Server:
    """One uvicorn process serving ``benchmarks._realtime_app`` for one stack."""

    def __init__(self, stack: str, redis_url: str, prefix: str) -> None:
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "BENCH_STACK": stack,
            "BENCH_REDIS_URL": redis_url,
            "BENCH_LAYER_PREFIX": prefix,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "benchmarks._realtime_app:application",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--ws", "websockets-sansio", "--lifespan", "off",
                "--timeout-graceful-shutdown", "2", "--log-level", "warning",
                "--backlog", "4096",
            ],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,  # its log lines are not the table this prints
        )  # fmt: skip
        deadline = time.monotonic() + STARTUP
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not listen in time") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(15)

    @property
    def rss(self) -> int:
        assert self.process is not None
        return rss_kib(self.process.pid)

    def post(self, channel: str, event: dict[str, int]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/broadcast/{channel}/",
            data=json.dumps(event).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            response.read()


def client_factory(
    stack: str, server: Server, channel: str, marker: str, subs: Subscribers
) -> Callable[[int], Coroutine[Any, Any, None]]:
    base = f"ws://127.0.0.1:{server.port}"
    if stack == "ours":
        return lambda n: websocket_client(
            f"{base}/ws/stability/events/{channel}/?user={marker}-{n}", subs, ours=True
        )
    if stack == "channels":
        return lambda n: websocket_client(
            f"{base}/ws/plain/{channel}/", subs, ours=False
        )
    return lambda n: sse_client(server.port, f"/events/{channel}/", subs)


async def measure(
    stack: str, server: Server, connections: int, marker: str
) -> dict[str, float]:
    channel = f"bench{marker}"
    # Warm up: import and first-use costs are not per connection.
    warm = Subscribers(5)
    open_one = client_factory(stack, server, channel, marker + "w", warm)
    warming = [asyncio.create_task(open_one(n)) for n in range(warm.count)]
    async with asyncio.timeout(WAIT):
        await warm.all_ready.wait()
        await timed_round(server, channel, warm, -1)
    await close_gradually(warming)
    await asyncio.sleep(SETTLE)
    before = server.rss

    subs = Subscribers(connections)
    open_one = client_factory(stack, server, channel, marker, subs)
    tasks: list[asyncio.Task[None]] = []
    medians, lasts = [], []
    try:
        async with asyncio.timeout(WAIT * 4):
            for start in range(0, connections, CONNECT_BATCH):
                target = min(connections, start + CONNECT_BATCH)
                tasks += [
                    asyncio.create_task(open_one(n)) for n in range(start, target)
                ]
                while subs.ready < target:
                    if ended := [t for t in tasks if t.done()]:
                        raise RuntimeError(f"{stack}: a subscriber ended: {ended[0]!r}")
                    await asyncio.sleep(0.01)
        await asyncio.sleep(SETTLE)
        after = server.rss
        for seq in range(ROUNDS):
            arrivals = await timed_round(server, channel, subs, seq)
            medians.append(statistics.median(arrivals))
            lasts.append(max(arrivals))
    finally:
        await close_gradually(tasks)
    return {
        "memory_kib": (after - before) / connections,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "median_ms": statistics.median(medians) * 1000,
        "last_p90_ms": statistics.quantiles(lasts, n=10, method="inclusive")[-1] * 1000,
    }


async def close_gradually(tasks: list[asyncio.Task[None]]) -> None:
    # A thousand disconnects at once exhaust channels-redis's connection pool
    # (group_discard fails): close them in batches, as real clients leave.
    for start in range(0, len(tasks), CONNECT_BATCH):
        batch = tasks[start : start + CONNECT_BATCH]
        for task in batch:
            task.cancel()
        await asyncio.gather(*batch, return_exceptions=True)
        await asyncio.sleep(0.05)


async def timed_round(
    server: Server, channel: str, subs: Subscribers, seq: int
) -> list[float]:
    current = Round(subs.count)
    subs.rounds[seq] = current
    current.started = time.perf_counter()
    await asyncio.to_thread(server.post, channel, {"seq": seq})
    async with asyncio.timeout(WAIT):
        await current.done.wait()
    del subs.rounds[seq]
    return current.arrivals


def forget(redis_url: str, marker: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for pattern in (f"stability:rt:*{marker}*", f"{prefix}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("redis_url", nargs="?", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args()
    marker = uuid.uuid4().hex[:10]
    prefix = f"stability-bench-layer-{marker}"
    results = {}
    try:
        for stack in STACKS:
            with Server(stack, args.redis_url, prefix) as server:
                results[stack] = asyncio.run(
                    measure(stack, server, args.connections, marker)
                )
    finally:
        forget(args.redis_url, marker, prefix)

    print(
        f"{args.connections} idle connections per stack, {ROUNDS} broadcasts to all of them"
    )
    print()
    print(f"{'stack':<55} {'KiB/conn':>9} {'median':>9} {'last p90':>9}")
    for stack, label in STACKS.items():
        r = results[stack]
        print(
            f"{label:<55} {r['memory_kib']:9.1f} {r['median_ms']:7.1f}ms {r['last_p90_ms']:7.1f}ms"
        )
    ours, plain, sse = results["ours"], results["channels"], results["eventstream"]
    ratio = ours["memory_kib"] / plain["memory_kib"]
    best_peer = min(plain["last_p90_ms"], sse["last_p90_ms"])
    print()
    print(
        f"memory per idle connection: {ratio:.2f}x the plain Channels consumer "
        f"(target <= 1.2x): {'met' if ratio <= 1.2 else 'missed'}"
    )
    print(
        f"last-subscriber p90: {ours['last_p90_ms']:.1f} ms against the better peer's "
        f"{best_peer:.1f} ms (target <=): "
        f"{'met' if ours['last_p90_ms'] <= best_peer else 'missed'}"
    )


if __name__ == "__main__":
    main()
