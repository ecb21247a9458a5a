"""Three worker processes on one Redis share one retry budget; plain stamina, for contrast, does not.

A dependency that fails every call must not be handed three times its load by
its clients' retries: with ``budget: 0.1`` it receives at most 1.1 attempts
per call, all workers together, where stamina alone sends ``attempts`` per call.
"""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests import services

pytestmark = [pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent.parent
WORKERS = 3
CALLS = 100  # per worker
TIMEOUT = 120.0


class HangUp(socketserver.ThreadingTCPServer):
    """A TCP service that counts each connection and closes it at once: every call to it fails."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received = 0
        self.lock = threading.Lock()


class _Handler(socketserver.BaseRequestHandler):
    server: HangUp

    def handle(self) -> None:
        with self.server.lock:
            self.server.received += 1


@pytest.fixture
def dependency() -> Iterator[HangUp]:
    server = HangUp()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def name() -> Iterator[str]:
    unique = f"mp-{uuid.uuid4().hex[:12]}"
    yield unique
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        client.delete(f"stability:retry:{unique}")
    finally:
        client.close()


def run_workers(mode: str, name: str, port: int) -> list[dict[str, int]]:
    """Start the workers, let them call together, and return what each reports."""
    command = [
        sys.executable,
        "-m",
        "tests.retry._worker",
        mode,
        services.REDIS_URL,
        name,
        str(port),
        str(CALLS),
    ]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(WORKERS)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert json.loads(worker.stdout.readline()) == {"ready": True}
        for worker in workers:  # all ready: go
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        reports = []
        for worker in workers:
            out, _ = worker.communicate(timeout=TIMEOUT)
            assert worker.returncode == 0
            reports.append(json.loads(out))
        return reports
    finally:
        for worker in workers:
            if worker.poll() is None:  # pragma: no cover - only if a worker hangs
                worker.kill()
                worker.wait()


def test_the_budget_holds_across_processes_where_plain_stamina_triples_the_load(
    dependency: HangUp, name: str
) -> None:
    """300 failing calls from 3 processes: at most 330 attempts with the budget, 900 with stamina alone."""
    calls = WORKERS * CALLS

    reports = run_workers("stamina", name, dependency.server_address[1])
    assert sum(r["raised"] for r in reports) == calls
    plain, dependency.received = dependency.received, 0

    reports = run_workers("budget", name, dependency.server_address[1])
    assert sum(r["raised"] for r in reports) == calls
    budgeted = dependency.received

    assert plain >= 3 * calls
    assert calls < budgeted <= 1.1 * calls  # some retries, within the shared budget
    print(
        f"\n{calls} failing calls: {plain} attempts with stamina, {budgeted} with the budget"
    )
