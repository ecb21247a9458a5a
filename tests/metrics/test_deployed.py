"""The example under uvicorn with two workers: probes answered before Django, and worker memory, show in one scrape."""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.redis_server import free_port
from tests.metrics.exposition import samples, value

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90.0  # seconds, on a loaded machine
PROBES = 20


def get(port: int, path: str) -> tuple[int, str]:
    """One GET on a new connection, so the kernel may hand it to either worker."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    """``uvicorn example_project.asgi:application --workers 2`` on SQLite, metrics in one directory."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    migrate = subprocess.run(
        [sys.executable, "example_project/manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "example_project.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                "--no-access-log", "--lifespan", "off",
            ],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                get(port, "/stability/health/live")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)  # polling for the server to come up, not for a state
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if uvicorn hangs
            process.kill()
            process.wait()


def test_probes_in_front_of_django_and_worker_memory_reach_the_scrape(server):
    """Readiness answered by with_health_probes() shows as gauges; each worker's memory carries its pid."""
    for _ in range(PROBES):
        assert get(server, "/stability/health/ready")[0] == 200
    status, text = get(server, "/stability/metrics")
    assert status == 200
    # No HTTP metric saw the probes: they never reached Django's middleware.
    routes = {
        dict(labels).get("route")
        for name, labels in samples(text)
        if name == "stability_http_requests_total"
    }
    assert "stability/health/ready" not in routes
    assert value(text, "stability_health_ready") == 1.0
    for check in ("database", "cache"):
        assert value(text, "stability_health_check_status", check=check) == 1.0
        assert value(text, "stability_health_check_duration_seconds", check=check) > 0
    memory = [
        number
        for (name, labels), number in samples(text).items()
        if name == "stability_process_resident_memory_bytes"
        and dict(labels).get("pid", "").isdigit()
    ]
    assert memory
    assert all(number > 10 << 20 for number in memory)
    assert value(text, "stability_process_cpu_seconds_total") > 0
