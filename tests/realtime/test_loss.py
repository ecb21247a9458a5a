"""The loss test: clients reconnecting in a storm (a server restarted) miss nothing.

Scale, chosen to fit about 20 s on a shared two-core machine: 100 clients split
over two uvicorn processes, 600 events broadcast by one of them in batches,
every client dropping its connection after every 20-60 events and resuming
from its last id, server A restarted (SIGTERM, then started again on its port)
a third of the way through, and a channels-redis ``capacity`` of 1, so the
layer drops most wake-ups. Every client must end with all 600 events, in
order, none twice, and no reset. (The full 1,000 events passed too, in 32 s.)
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.realtime.servers import Server, forget_realtime_keys, servers

pytestmark = [pytest.mark.redis]

CLIENTS = 100
EVENTS = 600
BATCH = 10
# A bound on the whole test, never expected to be reached: generous, since the
# servers run under coverage in `make test` and share two cores with the suite.
DEADLINE = 180.0


@pytest.fixture
def marker() -> Iterator[str]:
    unique = uuid.uuid4().hex[:12]
    yield unique
    forget_realtime_keys(unique)


class Client:
    """A client that reconnects whenever it is cut off, resuming from the last id it got."""

    def __init__(self, server: Server, channel: str, user: str, seed: int) -> None:
        self.url = f"{server.ws}/{channel}/?user={user}"
        self.random = random.Random(seed)
        self.received: list[int] = []
        self.last_id: int | None = None
        self.resets = 0
        self.connections = 0
        self.subscribed = asyncio.Event()

    async def run(self, until: float) -> None:
        while len(self.received) < EVENTS and time.monotonic() < until:
            url = (
                self.url
                if self.last_id is None
                else f"{self.url}&last_event_id={self.last_id}"
            )
            try:
                # Read everything the server sends (no queue limit), so that a
                # close after a cut sees the server's close frame at once.
                async with connect(
                    url, open_timeout=5, max_queue=None, close_timeout=2
                ) as ws:
                    self.connections += 1
                    await self._read(ws, cut_after=self.random.randint(20, 60))
            except (OSError, WebSocketException, TimeoutError):
                await asyncio.sleep(0.05)  # the server is restarting: retry soon

    async def _read(self, ws, cut_after: int) -> None:  # type: ignore[no-untyped-def]
        got = 0
        async for raw in ws:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "heartbeat":
                await ws.send('{"type": "heartbeat"}')
            elif kind == "subscribed":
                self.last_id = message["last_event_id"]
                self.subscribed.set()
            elif kind == "reset":
                self.resets += 1
                self.last_id = message["last_event_id"]
            elif kind == "event":
                self.received.append(message["data"]["n"])
                self.last_id = message["id"]
                got += 1
                if got >= cut_after or len(self.received) >= EVENTS:
                    return


async def test_a_reconnect_storm_with_a_lossy_layer_loses_nothing(
    tmp_path: Path, marker: str
) -> None:
    """100 clients, 600 events, cuts, a restart and a dropping layer: each has all, in order, once."""
    channel = f"loss.{marker}"
    realtime = {"HEARTBEAT": 1, "CONNECT_RATE": "10000/m"}
    with servers(2, tmp_path, realtime=realtime, capacity=1) as (a, b):
        until = time.monotonic() + DEADLINE
        clients = [
            Client((a, b)[n % 2], channel, f"u{n}{marker}", seed=n)
            for n in range(CLIENTS)
        ]
        tasks = [asyncio.create_task(c.run(until)) for c in clients]
        async with asyncio.timeout(60):
            for c in clients:
                await c.subscribed.wait()
        for start in range(0, EVENTS, BATCH):
            if start == EVENTS // 3:
                a.kill(signal.SIGTERM)
                await asyncio.to_thread(a.start)
            events = [{"n": n} for n in range(start, start + BATCH)]
            await asyncio.to_thread(b.broadcast, channel, events)
        await asyncio.gather(*tasks)
        dropped = a.dropped_wakeups() + b.dropped_wakeups()
    for n, c in enumerate(clients):
        where = f"client {n}: {len(c.received)} events, {c.connections} connections, last id {c.last_id}"
        assert c.resets == 0, where
        assert c.received == list(range(EVENTS)), where
    assert sum(c.connections for c in clients) > CLIENTS * 3  # the storm happened
    assert dropped > 0  # and the layer did drop wake-ups
