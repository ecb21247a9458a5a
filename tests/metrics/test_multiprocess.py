"""With PROMETHEUS_MULTIPROC_DIR, one scrape of any process reports every worker's requests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.metrics.exposition import value
from tests.ratelimit.support import fetch

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds for both workers together


def _run_workers(directory: Path, counts: list[int]) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.metrics._worker", str(n)], cwd=ROOT, env=env
        )
        for n in counts
    ]
    try:
        for worker in workers:
            assert worker.wait(timeout=TIMEOUT) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:  # pragma: no cover - only if a worker hangs
                worker.kill()
                worker.wait()


@pytest.mark.parametrize("mode", ["wsgi", "asgi"])
async def test_a_scrape_sums_the_requests_of_two_worker_processes(
    mode, tmp_path, monkeypatch
):
    """Two workers serve 3 and 4 requests; the metrics view reports 7 for the route."""
    _run_workers(tmp_path, [3, 4])
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    response = await fetch(mode, "/stability/metrics", ip="127.0.0.1")
    text = response.content.decode()
    labels = {"method": "GET", "route": "api/ok/", "status": "200"}
    assert value(text, "stability_http_requests_total", **labels) == 7
    count = "stability_http_request_duration_seconds_count"
    assert value(text, count, method="GET", route="api/ok/") == 7
