"""Real uvicorn processes serving ``tests.realtime._server`` on free loopback ports."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from tests import services
from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def uvicorn_command(app: str, port: int, *options: str) -> list[str]:
    """``python -m uvicorn APP`` on loopback ``port``, as every realtime test server runs it."""
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--ws", "websockets-sansio", "--lifespan", "off", "--log-level", "warning",
        *options,
    ]  # fmt: skip


STARTUP_TIMEOUT = 20.0


class Server:
    """One uvicorn process on a fixed port; ``start()`` again after ``kill()`` reuses the port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/stability/events"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                uvicorn_command("tests.realtime._server:application", self.port),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"uvicorn did not listen within {STARTUP_TIMEOUT} s")

    def broadcast(self, channel: str, events: list[dict[str, Any]]) -> list[int]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/broadcast/{channel}/",
            data=json.dumps({"events": events}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            return json.loads(response.read())["ids"]  # type: ignore[no-any-return]

    def dropped_wakeups(self) -> int:
        """How many times channels-redis logged that group_send dropped messages."""
        return self.log.read_text().count("over capacity in group")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:  # pragma: no cover - only if it hangs
                self.process.kill()
                self.process.wait()
        self.process = None


@contextmanager
def servers(
    count: int,
    tmp_path: Path,
    *,
    realtime: dict[str, Any],
    capacity: int = 100,
    redis_url: str = services.REDIS_URL,
) -> Iterator[list[Server]]:
    """``count`` servers sharing one Redis (the suite's by default) through one channel layer prefix."""
    prefix = f"stability-test-layer-{uuid.uuid4().hex[:12]}"
    env = {
        **services.coverage_env(),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "STABILITY_REDIS_URL": redis_url,
        "STABILITY_TEST_LAYER_PREFIX": prefix,
        "STABILITY_TEST_LAYER_CAPACITY": str(capacity),
        "STABILITY_TEST_REALTIME": json.dumps(realtime),
    }
    started = [Server(env, tmp_path / f"server-{n}.log") for n in range(count)]
    try:
        for server in started:
            server.start()
        yield started
    finally:
        for server in started:
            server.kill(signal.SIGTERM)
        if redis_url == services.REDIS_URL:  # a throwaway server goes with its data
            client = redis.Redis.from_url(services.REDIS_URL)
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()


def forget_realtime_keys(marker: str) -> None:
    """Delete the engine's realtime keys naming ``marker`` (a test's channel or users)."""
    client = redis.Redis.from_url(services.REDIS_URL)
    for key in client.scan_iter(match=f"stability:rt:*{marker}*", count=1000):
        client.delete(key)
    client.close()
