"""Live subscribers of three workers through a Redis kill, an empty restart, and a connection reset.

Losing the Redis connection crashed every live subscriber (an ASGI exception
and no close frame for each), left their gauges and slots behind, and after
Redis lost its data the workers never rejoined the wake-up groups: events then
came only with heartbeat polls, 24-30 s late. Here 30 WebSocket subscribers
on three uvicorn workers sharing a throwaway redis-server live through:

1. a SIGKILL of Redis and a restart with no data;
2. ``CLIENT KILL``: every connection reset, no data lost.

Nothing may crash or drop a client, every event broadcast after recovery
must reach every client once and in order, the first one within 5 s for 90 %
of them, and at the end the slots and the gauges must equal the live connections.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.fixtures.redis_server import RedisServer
from tests.realtime.servers import Server, servers

pytestmark = pytest.mark.redis

CLIENTS_PER_SERVER = 10
EVENTS = 20
WAIT = 30.0  # bound of every wait: far above what the test asserts


@dataclass
class Subscriber:
    """One live WebSocket client: answers heartbeats, records what it gets and when."""

    ws: Any
    events: list[tuple[int, float]] = field(default_factory=list)
    resets: list[int] = field(default_factory=list)
    closed: int | None = None

    async def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self.ws:
                message = json.loads(frame)
                if message["type"] == "heartbeat":
                    await self.ws.send('{"type": "heartbeat"}')
                elif message["type"] == "event":
                    self.events.append((message["id"], time.monotonic()))
                elif message["type"] == "reset":
                    self.resets.append(message["last_event_id"])
        except ConnectionClosed:
            pass
        self.closed = self.ws.close_code if self.ws.close_code is not None else 1006

    def ids_after(self, first: int) -> list[int]:
        return [eid for eid, _ in self.events if eid >= first]


def broadcast(server: Server, channel: str, n: int) -> list[int]:
    """Broadcast ``n`` events through ``server``, retrying while its Redis is out (bounded)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return server.broadcast(channel, [{"n": i} for i in range(n)])
        except urllib.error.HTTPError as refused:
            assert refused.code == 503, refused.read()
            assert time.monotonic() < deadline, "the log never came back"
            time.sleep(0.2)


async def everyone_has(clients: list[Subscriber], ids: list[int]) -> None:
    deadline = time.monotonic() + WAIT
    while not all(set(ids) <= {eid for eid, _ in c.events} for c in clients):
        assert time.monotonic() < deadline, "some subscribers never got the events"
        await asyncio.sleep(0.05)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


def gauge(server: Server) -> float:
    """The worker's ``stability_realtime_connections`` for WebSockets."""
    url = f"http://127.0.0.1:{server.port}/connections/"
    with urllib.request.urlopen(url, timeout=WAIT) as response:
        return float(json.loads(response.read())["websocket"])


def slots(url: str, users: list[str]) -> int:
    client = redis.Redis.from_url(url)
    try:
        return sum(int(client.zcard(f"stability:rt:slots:{u}")) for u in users)
    finally:
        client.close()


async def test_subscribers_live_through_a_redis_restart_and_a_connection_reset(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from websockets.asyncio.client import connect

    marker = uuid.uuid4().hex[:10]
    channel = f"faults-{marker}"
    # The default HEARTBEAT (30 s): heartbeat polls must not be what delivers after recovery.
    realtime = {"CONNECT_RATE": "1000/m"}
    with servers(3, tmp_path, realtime=realtime, redis_url=redis_server.url) as workers:
        users = [f"u{n}{marker}" for n in range(3 * CLIENTS_PER_SERVER)]
        clients = []
        for n, user in enumerate(users):
            ws = await connect(
                f"{workers[n % 3].ws}/{channel}/?user={user}", open_timeout=WAIT
            )
            assert json.loads(await ws.recv())["type"] == "subscribed"
            clients.append(Subscriber(ws))
        readers = [asyncio.create_task(c.run()) for c in clients]
        try:
            before = broadcast(workers[0], channel, EVENTS)
            await everyone_has(clients, before)

            # 1. Redis killed, and back without its data.
            redis_server.kill()
            await asyncio.sleep(3)  # a heartbeat or more of outage
            redis_server.start()
            sent = time.monotonic()
            after_restart = broadcast(workers[1], channel, EVENTS)
            await everyone_has(clients, after_restart)
            first = after_restart[0]
            latency = [
                next(t for eid, t in c.events if eid == first) - sent for c in clients
            ]
            print(f"first event after the restart: p90 {p90(latency):.2f} s")
            assert p90(latency) < 5, sorted(latency)
            for c in clients:  # the old log is gone: a reset, then every new event once
                assert c.resets, "a subscriber was not told the log was lost"
                assert c.ids_after(first) == after_restart

            # 2. Every Redis connection reset; no data lost.
            admin = redis.Redis.from_url(redis_server.url)
            admin.client_kill_filter(_type="normal", skipme=True)
            admin.close()
            resets = [len(c.resets) for c in clients]
            after_reset = broadcast(workers[2], channel, EVENTS)
            await everyone_has(clients, after_reset)
            for c, had in zip(clients, resets, strict=True):
                assert c.ids_after(after_reset[0]) == after_reset
                assert len(c.resets) == had  # nothing was lost: no reset

            await asyncio.sleep(1)
            assert [c.closed for c in clients] == [None] * len(clients)
            assert slots(redis_server.url, users) == len(clients)
            assert sum(gauge(w) for w in workers) == len(clients)
        finally:
            for c in clients:
                await c.ws.close()
            await asyncio.gather(*readers)
        for worker in workers:
            log = worker.log.read_text()
            assert "Exception in ASGI application" not in log, log[-3000:]
            assert "realtime.consumer_failed" not in log, log[-3000:]
