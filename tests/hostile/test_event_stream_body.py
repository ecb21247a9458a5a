"""An anonymous client streams a huge body at the event stream: the worker keeps its memory.

The event stream is a GET endpoint. It used to append every body chunk
before authenticating anyone, so an anonymous chunked POST of 300 MB grew a
worker from 85 to 386 MB before its 401. Now any other method is answered
405 at once, and no body is ever buffered, GET's included.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realtime.servers import Server, servers

pytestmark = pytest.mark.redis

MB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)
# Bounds of the attack: 200 MB at most, 30 s at most.
BODY = 200 * MB
SECONDS = 30.0


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid``, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def stream_body(port: int, method: str, path: str) -> tuple[bytes, int]:
    """Send ``method path`` with a chunked body of up to BODY bytes; the answer's head and what was sent."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        )
        frame = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
        deadline = time.monotonic() + SECONDS
        while sent < BODY and time.monotonic() < deadline:
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break  # the server answered (or closed) before the body ended
            try:
                conn.sendall(frame)
            except OSError:
                break  # the server closed the connection: it will not read more
            sent += len(CHUNK)
        else:
            conn.sendall(
                b"0\r\n\r\n"
            )  # the whole body went: end it, and read the answer
        conn.settimeout(5)
        try:
            while b"\r\n\r\n" not in answer:
                more = conn.recv(65536)
                if not more:
                    break
                answer += more
        except OSError:
            pass
    return answer, sent


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with servers(1, tmp_path, realtime={}) as (one,):
        yield one


@pytest.mark.parametrize("method", ["POST", "PUT", "GET"])
def test_a_huge_anonymous_body_does_not_grow_the_worker(
    server: Server, method: str
) -> None:
    """200 MB streamed at the event stream grow the worker by less than 20 MB, and the answer comes at once."""
    assert server.process is not None
    before = rss_mb(server.process.pid)
    answer, sent = stream_body(server.port, method, "/stability/events/news/")
    grown = rss_mb(server.process.pid) - before
    head = answer.split(b"\r\n", 1)[0]
    expected = b" 405 " if method != "GET" else b" 401 "
    assert expected in head, (head, sent)
    if method != "GET":
        assert b"allow: get, head" in answer.lower()
    assert grown < 20, f"the worker grew by {grown:.0f} MB after {sent / MB:.0f} MB"
