"""Real Django servers in child processes: ``runserver`` (threaded WSGI) and uvicorn (ASGI).

A test starts one with the environment it needs, talks HTTP to it on a free
loopback port and the fixture stops it. Used where "another process" is the
point (the drain flag) or where connections are counted on the server side.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class DjangoServer:
    """One server process of ``mode`` ("wsgi" or "asgi") with ``env`` on top of ours."""

    def __init__(self, mode: str, env: dict[str, str], log: Path) -> None:
        self.mode = mode
        self.port = free_port()
        self.log_path = log
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.health.server_settings",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        if mode == "wsgi":
            command = [
                "-m",
                "django",
                "runserver",
                f"127.0.0.1:{self.port}",
                "--noreload",
                "--skip-checks",
            ]
        else:
            command = [
                "-m", "uvicorn", "tests.health.server_asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--lifespan", "off", "--log-level", "warning", "--no-access-log",
            ]  # fmt: skip
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._connection: http.client.HTTPConnection | None = None
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"server exited:\n{self.log_path.read_text(errors='replace')}"
                )
            try:
                if self.get("/stability/health/live").status == 200:
                    return
            except OSError:
                pass
            if (
                time.monotonic() > deadline
            ):  # pragma: no cover - a server that never comes up
                self.stop()
                raise RuntimeError(f"server did not answer within {STARTUP_TIMEOUT} s")
            time.sleep(0.05)

    def get(self, path: str, timeout: float = 10.0) -> Answer:
        """GET ``path`` (ASGI: over one kept-alive connection, reopened if the server closed it)."""
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=timeout
                )
            try:
                self._connection.request("GET", path)
                response = self._connection.getresponse()
                body = response.read()
            except (http.client.HTTPException, ConnectionError):
                self._connection.close()
                self._connection = None
                if attempt:
                    raise
                continue
            # runserver writes headers and body separately: on a kept-alive
            # connection Nagle plus delayed ACKs cost 40 ms a request.
            if (
                self.mode == "wsgi"
                or response.getheader("Connection", "").lower() == "close"
            ):
                self._connection.close()
                self._connection = None
            return Answer(response.status, dict(response.getheaders()), body)
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except (
                subprocess.TimeoutExpired
            ):  # pragma: no cover - a server ignoring SIGTERM
                self.process.kill()
                self.process.wait()
        self._log.close()
