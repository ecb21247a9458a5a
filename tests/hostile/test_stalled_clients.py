"""Clients that complete the WebSocket handshake and never read, while events keep coming.

Three such clients and 3,000 x 30 KB events broadcast grew a worker by 103 MB,
linearly in events, and kept them open: each wake-up started a task waiting
on the connection's lock, and a blocked send also stopped the heartbeat. Now
each connection has one wake-up waiting at most, every send is bounded by
``SEND_TIMEOUT``, and a client that cannot keep up is closed and its slot freed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.test_event_stream_body import rss_mb
from tests.realtime.servers import forget_realtime_keys, servers
from tests.realtime.test_multiprocess import subscribe

pytestmark = pytest.mark.redis

SEND_TIMEOUT = 2
EVENT = "x" * (30 * 1024)
EVENTS, BATCH = 3000, 100


@pytest.fixture
def marker() -> Iterator[str]:
    unique = uuid.uuid4().hex[:12]
    yield unique
    forget_realtime_keys(unique)


def stalled_client(port: int, channel: str, user: str) -> socket.socket:
    """A WebSocket handshake, then nothing read ever again (a small receive buffer)."""
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(
        (
            f"GET /ws/stability/events/{channel}/?user={user} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return conn


async def test_stalled_readers_are_closed_and_cost_little_memory(
    tmp_path: Path, marker: str
) -> None:
    channel, user = f"stall-{marker}", f"u{marker}"
    realtime = {
        "SEND_TIMEOUT": SEND_TIMEOUT,
        "MAX_CONNECTIONS_PER_USER": 3,
        "REPLAY_MAX_EVENTS": 100,  # the process keeps this many for catch-ups, by design
        "CONNECT_RATE": "1000/m",
    }
    with servers(1, tmp_path, realtime=realtime) as (server,):
        assert server.process is not None
        stalled = [stalled_client(server.port, channel, user) for _ in range(3)]
        try:
            before = rss_mb(server.process.pid)
            started = time.monotonic()
            for _ in range(EVENTS // BATCH):
                server.broadcast(channel, [{"blob": EVENT}] * BATCH)
            broadcast_done = time.monotonic()
            grown = rss_mb(server.process.pid) - before
            assert grown < 30, f"the worker grew by {grown:.0f} MB"

            # The three slots are free again: the same user is admitted three times.
            deadline = broadcast_done + SEND_TIMEOUT + 5
            admitted: list[Any] = []
            while len(admitted) < 3:
                assert time.monotonic() < deadline, (
                    "the stalled clients still hold their slots"
                )
                try:
                    admitted.append(await subscribe(server, channel, user))
                except AssertionError:  # 4429: still held
                    await asyncio.sleep(0.2)
            for ws in admitted:
                await ws.close()
            log = server.log.read_text()
            assert log.count("realtime.too_slow") == 3, log[-3000:]
            assert "Exception in ASGI application" not in log
            assert time.monotonic() - started < 120
        finally:
            for conn in stalled:
                conn.close()
