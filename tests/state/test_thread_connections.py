"""The sync side's connections: one per thread, reconnected after a drop, closed by close(), new after fork."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from django_stability.state import Engine
from tests import services
from tests.clock import FakeClock
from tests.state.conftest import forget_keys

pytestmark = pytest.mark.redis


def named_engine(name: str, clock: FakeClock) -> Engine:
    """An engine whose connections carry ``name`` in CLIENT LIST."""
    return Engine(
        f"{services.REDIS_URL}?client_name={name}",
        key_prefix=f"stability-test:{name}:",
        connect_timeout=5.0,
        timeout=5.0,
        clock=clock,
    )


def connections_named(name: str) -> int:
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        return sum(1 for c in client.client_list() if c.get("name") == name)
    finally:
        client.close()


def wait_for_connections(name: str, expected: int) -> int:
    """The server drops a closed socket's client a moment later: poll, with a deadline."""
    deadline = time.monotonic() + 5
    while (seen := connections_named(name)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


@pytest.fixture
def name() -> Iterator[str]:
    value = f"ds-{uuid.uuid4().hex[:12]}"
    yield value
    forget_keys(f"stability-test:{value}:")


def test_one_thread_reuses_one_connection(name: str, clock: FakeClock) -> None:
    """Hundreds of counts from one thread open one server connection, not one per call."""
    engine = named_engine(name, clock)
    try:
        for _ in range(300):
            engine.incr("n", now=clock(), window=60)
        assert engine.incr("n", now=clock(), window=60).hits == 301
        assert connections_named(name) == 1
    finally:
        engine.close()


def test_each_thread_has_its_own_and_close_closes_them_all(
    name: str, clock: FakeClock
) -> None:
    """Four threads counting at once use four connections; close() ends every one of them.

    The threads stay alive while the connections are counted and closed: a
    finished thread's connection may already be gone with its thread-local
    storage, which would make the count depend on the garbage collector.
    """
    engine = named_engine(name, clock)
    start = threading.Barrier(4)
    counted = threading.Barrier(5)  # the four threads and this one
    release = threading.Event()
    errors: list[BaseException] = []

    def count() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(50):
                engine.incr("n", now=clock(), window=60)
            counted.wait(timeout=10)  # every thread holds its connection here
            release.wait(timeout=30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        counted.wait(timeout=20)
        assert connections_named(name) == 4
        assert engine.incr("n", now=clock(), window=60).hits == 201
        # The four threads' connections and this thread's one.
        assert connections_named(name) == 5
    finally:
        engine.close()
        closed = wait_for_connections(name, 0)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors
    assert closed == 0


def test_a_connection_killed_by_the_server_is_replaced_at_once(
    name: str, clock: FakeClock
) -> None:
    """CLIENT KILL (an idle timeout, a failover) costs no outage: the call reconnects and counts."""
    engine = named_engine(name, clock)
    admin = redis.Redis.from_url(services.REDIS_URL)
    try:
        engine.incr("n", now=clock(), window=60)
        for client in admin.client_list():
            if client.get("name") == name:
                admin.client_kill_filter(_id=client["id"])
        assert wait_for_connections(name, 0) == 0
        assert engine.incr("n", now=clock(), window=60).hits == 2
        assert engine.mode == "redis"
        assert engine.healthy
    finally:
        admin.close()
        engine.close()


FORK = """
import os, sys
import redis
from django_stability.state import Engine
url, name = sys.argv[1], sys.argv[2]
engine = Engine(f"{url}?client_name={name}", key_prefix=f"stability-test:{name}:",
                connect_timeout=5.0, timeout=5.0)
print("parent", engine.incr("n", now=1e9, window=60).hits, flush=True)
counted, release = os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:
    # The child must not talk on its parent's socket: it gets a connection of its own.
    print("child", engine.incr("n", now=1e9, window=60).hits, flush=True)
    os.write(counted[1], b"x")
    os.read(release[0], 1)
    os._exit(0)
os.read(counted[0], 1)
admin = redis.Redis.from_url(url)
print("connections", sum(1 for c in admin.client_list() if c.get("name") == name), flush=True)
os.write(release[1], b"x")
os.waitpid(pid, 0)
print("parent", engine.incr("n", now=1e9, window=60).hits, flush=True)
"""


def test_a_forked_child_opens_its_own_connection(name: str) -> None:
    """After fork (gunicorn --preload), parent and child each count on their own connection."""
    result = subprocess.run(
        [sys.executable, "-c", FORK, services.REDIS_URL, name],
        cwd=Path(__file__).resolve().parent.parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "parent 1",
        "child 2",
        "connections 2",
        "parent 3",
    ]
