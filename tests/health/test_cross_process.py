"""Other processes: ``drain on`` in one process turns another server's ready probe to 503."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.redis_server import RedisServer
from tests.health.servers import ROOT, DjangoServer
from tests.http_modes import MODES

READY = "/stability/health/ready"


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``django-admin`` in its own process, with the servers' settings."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.health.server_settings",
            "PYTHONPATH": str(ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(params=MODES)
def server(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Iterator[tuple[DjangoServer, dict[str, str]]]:
    """A WSGI or ASGI server on SQLite, sharing the throwaway Redis."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STABILITY_REDIS_URL": redis_server.url,
    }
    process = DjangoServer(request.param, env, tmp_path / "server.log")
    try:
        yield process, env
    finally:
        process.stop()


def test_drain_on_in_one_process_turns_ready_to_draining_in_another(
    server: tuple[DjangoServer, dict[str, str]],
) -> None:
    """drain on (its own process) makes the server's ready 503 draining; drain off brings it back."""
    process, env = server
    assert process.get(READY).status == 200

    done = manage("drain", "on", env=env)
    assert done.returncode == 0, done.stderr
    assert "drain: on since" in done.stdout
    answer = process.get(READY)
    assert answer.status == 503
    assert answer.json()["status"] == "draining"
    assert answer.headers["Retry-After"] == "10"
    assert "drain: on" in manage("drain", "status", env=env).stdout

    assert manage("drain", "off", env=env).returncode == 0
    assert process.get(READY).json()["status"] == "ok"
    assert process.get("/stability/health/live").status == 200


@pytest.fixture(params=MODES)
def graceful_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[DjangoServer]:
    """A WSGI (runserver) or ASGI (uvicorn) server that installed the SIGTERM handler, 1 s grace."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STABILITY_TEST_SIGTERM": "1",
        "STABILITY_DRAIN_SECONDS": "1",
    }
    process = DjangoServer(request.param, env, tmp_path / "server.log")
    try:
        yield process
    finally:
        process.stop()


def test_sigterm_drains_a_real_server_then_lets_it_stop(
    graceful_server: DjangoServer,
) -> None:
    """SIGTERM: the server keeps serving with ready 503 draining, announces shutdown, then stops."""
    assert graceful_server.get(READY).status == 200
    graceful_server.process.send_signal(signal.SIGTERM)
    # The handler runs in the server's main thread a moment after delivery: a bounded poll.
    for _ in range(100):
        answer = graceful_server.get(READY)
        if answer.status == 503:
            break
    assert answer.json() == {"status": "draining", "checks": {}}
    assert answer.headers["Retry-After"] == "1"
    assert graceful_server.get("/stability/health/live").status == 200
    # After the 1 s grace the server's own SIGTERM handling ends the process.
    returncode = graceful_server.process.wait(timeout=20)
    assert returncode in (0, -signal.SIGTERM)
    assert "shutdown_started drain_seconds=1.0" in graceful_server.log_path.read_text()
