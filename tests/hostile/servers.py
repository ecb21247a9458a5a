"""The example project under a real uvicorn, configured from the environment, for the attack tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.realtime.servers import ROOT

STARTUP_TIMEOUT = 30.0


def free_port(family: socket.AddressFamily = socket.AF_INET6) -> int:
    """A port free on both loopbacks (bound on ``::``, which covers IPv4 too)."""
    with socket.socket(family) as sock:
        sock.bind(("::" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the decoded JSON body, if any."""

    status: int
    headers: dict[str, str]
    body: Any


def request(url: str, headers: dict[str, str] | None = None) -> Answer:
    """GET ``url`` with ``headers``; error statuses are answers, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            status, raw, head = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, head = error.code, error.read(), error.headers
    kind = head.get("Content-Type", "")
    body = json.loads(raw) if "json" in kind else raw.decode()
    return Answer(status, {k.lower(): v for k, v in head.items()}, body)


def dual_stack_socket(port: int) -> socket.socket:
    """A listening socket on ``[::]:port`` that accepts IPv4 too (IPv4-mapped peers).

    asyncio, hence ``uvicorn --host ::``, binds IPv6 only; daphne's ``-b ::`` and
    many container runtimes are dual stack, which is what this socket gives
    uvicorn through ``--fd``.
    """
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def wait_listening(
    process: subprocess.Popen[bytes], host: str, port: int, log: Path
) -> None:
    """Wait until ``process`` accepts connections on ``host:port`` (bounded)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            assert time.monotonic() < deadline, "uvicorn did not listen in time"
            time.sleep(0.05)


class Uvicorn:
    """``uvicorn example_project.asgi:application`` on ``host`` (``"::"``: dual stack)."""

    def __init__(self, tmp: Path, host: str, env: dict[str, str]) -> None:
        self.host = host
        self.port = free_port()
        self.log = tmp / "uvicorn.log"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DRAIN_SECONDS": "0",  # stopped with SIGTERM: no drain window
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DATABASE_URL": f"sqlite:///{tmp / 'hostile.sqlite3'}",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str, via: str = "127.0.0.1") -> str:
        host = f"[{via}]" if ":" in via else via
        return f"http://{host}:{self.port}{path}"

    def start(self) -> None:
        listener = None
        if self.host == "::":
            listener = dual_stack_socket(self.port)
            where = ["--fd", str(listener.fileno())]
        else:
            where = ["--host", self.host, "--port", str(self.port)]
        command = [
            sys.executable, "-m", "uvicorn", "example_project.asgi:application",
            *where, "--no-proxy-headers",
            "--ws", "websockets-sansio", "--lifespan", "off", "--log-level", "warning",
        ]  # fmt: skip
        try:
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=() if listener is None else (listener.fileno(),),
                )
        finally:
            if listener is not None:
                listener.close()  # the server holds its own copy
        probe = "127.0.0.1" if ":" not in self.host else "::1"
        wait_listening(self.process, probe, self.port, self.log)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - uvicorn stops on SIGTERM
            self.process.kill()
            self.process.wait(10)
        self.process = None


@contextmanager
def example_project(
    tmp: Path, *, host: str = "127.0.0.1", **env: str
) -> Iterator[Uvicorn]:
    """The example project served by uvicorn for the length of the block."""
    server = Uvicorn(tmp, host, env)
    server.start()
    try:
        yield server
    finally:
        server.stop()
