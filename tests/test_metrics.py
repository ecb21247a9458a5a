"""django_stability.metrics: names that collide with nothing, one scrape for every worker, beside django-prometheus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from django_stability import metrics
from tests.exposition import value
from tests.ratelimit.support import fetch

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds for both workers together


def _ours() -> list[MetricWrapperBase]:
    return [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]


def test_every_metric_is_named_stability_something():
    """Every metric object is stability_*, so django-prometheus's django_* can share the registry."""
    families = [family.name for metric in _ours() for family in metric.describe()]
    assert families
    assert all(name.startswith("stability_") for name in families)
    assert len(families) == len(set(families))


def test_the_design_metric_names_exist():
    """The names DESIGN.md promises for HTTP, rate limits and breakers are all there."""
    families = {family.name for metric in _ours() for family in metric.describe()}
    assert {
        "stability_http_requests",
        "stability_http_request_duration_seconds",
        "stability_ratelimited",
        "stability_breaker_state",
        "stability_breaker_calls",
        "stability_breaker_transitions",
    } <= families


def test_the_health_metric_names_exist():
    """The probe metrics carry the exact names the alerts and dashboards query."""
    families = {family.name for metric in _ours() for family in metric.describe()}
    assert {
        "stability_health_check_status",
        "stability_health_check_duration_seconds",
    } <= families
    assert metrics.health_ready.name == "stability_health_ready"


def test_the_process_metric_names_exist():
    """The per-process memory and CPU carry the names the dashboards query."""
    families = {family.name for metric in _ours() for family in metric.describe()}
    assert "stability_process_cpu_seconds" in families  # exposed as ..._total
    assert (
        metrics.process_resident_memory.name
        == "stability_process_resident_memory_bytes"
    )
    assert metrics.process_memory_limit.name == "stability_process_memory_limit_bytes"


# With PROMETHEUS_MULTIPROC_DIR, one scrape of any process reports every worker's requests.


def _run_workers(directory: Path, counts: list[int]) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests._metrics_worker", str(n)], cwd=ROOT, env=env
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


# Beside django-prometheus: both sets of metrics in one registry, each endpoint showing both.


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    families = list(text_string_to_metric_families(text))
    names = [family.name for family in families]
    assert len(names) == len(set(names)), "a metric family is exposed twice"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def served() -> dict[str, object]:
    """Five requests through a project running both apps, in a process of its own."""
    pytest.importorskip(
        "django_prometheus",
        reason="django-prometheus does not install beside Django 6.1 (it caps Django below 6.1)",
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests._with_django_prometheus", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_requests_are_served_by_both_middleware_stacks(served):
    """With both apps' middleware, a request still gets our answer and headers."""
    assert served["status"] == 200
    assert served["correlation_id"]


@pytest.mark.parametrize("endpoint", ["theirs", "ours"])
def test_each_endpoint_shows_both_sets_once(served, endpoint):
    """django-prometheus's /metrics shows our stability_* counts, and stability/metrics theirs."""
    samples = _samples(str(served[endpoint]))
    ours = {
        ("method", "GET"),
        ("route", "api/ok/"),
        ("status", "200"),
    }
    assert samples[("stability_http_requests_total", frozenset(ours))] == 5
    theirs = samples[
        ("django_http_requests_total_by_method_total", frozenset({("method", "GET")}))
    ]
    assert theirs >= 5
