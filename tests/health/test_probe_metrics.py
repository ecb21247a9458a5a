"""Probe results as metrics: every run of the checks shows in ``stability/metrics``, probes answered before Django included."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.core.asgi import get_asgi_application
from django.test import Client, override_settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from django_stability.health import with_health_probes
from django_stability.health._dependencies import check_dependencies
from django_stability.health._drain import start_local_drain
from tests.clock import FakeClock
from tests.exposition import samples, value
from tests.health.test_asgi_probes import call

HERE = "tests.health.test_probe_metrics"
ROOT = Path(__file__).resolve().parents[2]

# ready and startup run the database check.
pytestmark = pytest.mark.django_db


@dataclass
class Switch(HealthCheck):
    """Passes, warns or fails as the test says: a dependency that changes under the probe."""

    outcome: ClassVar[str] = "ok"

    def key(self) -> str:
        return "switch"

    async def run(self) -> None:
        if Switch.outcome == "warn":
            raise ServiceWarning("degraded")
        if Switch.outcome == "fail":
            raise ServiceUnavailable("down")


@pytest.fixture(autouse=True)
def switch_ok():
    Switch.outcome = "ok"
    yield
    Switch.outcome = "ok"


def scrape() -> str:
    response = Client().get("/stability/metrics")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def app():
    return with_health_probes(get_asgi_application())


async def test_a_probe_answered_before_django_updates_the_check_metrics(app):
    """A readiness probe that never reaches Django still sets each check's status, duration and readiness."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Switch"]):
        answer = await call(app, "/stability/health/ready")
    assert answer.status == 200
    text = scrape()
    assert value(text, "stability_health_check_status", check="switch") == 1.0
    assert (
        "stability_health_check_duration_seconds",
        frozenset({("check", "switch")}),
    ) in samples(text)
    assert value(text, "stability_health_ready") == 1.0


@pytest.mark.parametrize(
    ("outcome", "number", "http"), [("warn", 0.5, 200), ("fail", 0.0, 503)]
)
async def test_a_warning_reads_half_and_a_failure_zero(app, outcome, number, http):
    """A warning check is 0.5 and the instance stays ready; a failing one is 0 and readiness drops to 0."""
    Switch.outcome = outcome
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Switch"]):
        answer = await call(app, "/stability/health/ready")
    assert answer.status == http
    text = scrape()
    assert value(text, "stability_health_check_status", check="switch") == number
    assert value(text, "stability_health_ready") == (1.0 if outcome == "warn" else 0.0)


async def test_a_draining_worker_reads_unready(app):
    """After SIGTERM's drain starts, the next readiness answer sets stability_health_ready to 0."""
    assert (await call(app, "/stability/health/ready")).status == 200
    assert value(scrape(), "stability_health_ready") == 1.0
    start_local_drain()
    assert (await call(app, "/stability/health/ready")).status == 503
    assert value(scrape(), "stability_health_ready") == 0.0


async def test_a_cached_answer_records_nothing_new(app: Any, clock: FakeClock) -> None:
    """Within the one-second cache the gauges keep the run's result; the next run replaces it."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Switch"]):
        assert (await call(app, "/stability/health/ready")).status == 200
        Switch.outcome = "fail"
        clock.advance(0.5)
        assert (await call(app, "/stability/health/ready")).status == 200  # cached
        assert value(scrape(), "stability_health_check_status", check="switch") == 1.0
        clock.advance(0.6)
        assert (await call(app, "/stability/health/ready")).status == 503  # run again
    assert value(scrape(), "stability_health_check_status", check="switch") == 0.0


def test_the_views_and_the_full_report_record_under_the_probe_json_keys(admin_client):
    """The full report records each check under its key in the JSON, and only those."""
    report = admin_client.get("/stability/health/").json()
    text = scrape()
    recorded = {
        dict(labels)["check"]
        for (name, labels) in samples(text)
        if name == "stability_health_check_status"
    }
    assert set(report["checks"]) <= recorded
    for key, result in report["checks"].items():
        expected = {"ok": 1.0, "warn": 0.5, "fail": 0.0}[result["status"]]
        assert value(text, "stability_health_check_status", check=key) == expected


def test_check_dependencies_records_its_run():
    """A container entrypoint's check_dependencies run sets the gauges of the checks it ran."""
    Switch.outcome = "warn"
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Switch"]):
        assert check_dependencies().status == "ok"
    text = scrape()
    assert value(text, "stability_health_check_status", check="switch") == 0.5
    assert value(text, "stability_health_check_status", check="migrations") == 1.0


def _workers(
    directory: Path,
    outcomes: list[str],
    monkeypatch: Any,
    pids: list[str] | None = None,
) -> str:
    """Run one worker process per outcome, then scrape the metrics view over their files."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for outcome in outcomes:
        done = subprocess.run(
            [sys.executable, "-m", "tests.health._probe_worker", outcome],
            cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True,
        )  # fmt: skip
        if pids is not None:
            pids.append(done.stdout.splitlines()[-1])
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return scrape()


def test_one_unready_worker_makes_the_instance_unready(tmp_path, monkeypatch):
    """With PROMETHEUS_MULTIPROC_DIR, the instance reads 0 while any worker last answered unready."""
    text = _workers(tmp_path, ["ok", "drain", "ok"], monkeypatch)
    assert value(text, "stability_health_ready") == 0.0
    assert value(text, "stability_health_check_status", check="dependency") == 1.0


def test_workers_no_probe_reached_do_not_count_as_unready(tmp_path, monkeypatch):
    """A worker that has answered no readiness probe yet leaves the instance ready."""
    text = _workers(tmp_path, ["idle", "ok", "idle"], monkeypatch)
    assert value(text, "stability_health_ready") == 1.0


def test_the_most_recent_check_result_wins_across_workers(tmp_path, monkeypatch):
    """The check status is the latest run of any worker, not a sum or an average."""
    text = _workers(tmp_path, ["ok", "fail"], monkeypatch)
    assert value(text, "stability_health_check_status", check="dependency") == 0.0
    assert value(text, "stability_health_ready") == 0.0
    again = tmp_path / "again"
    again.mkdir()
    text = _workers(again, ["fail", "ok"], monkeypatch)
    assert value(text, "stability_health_check_status", check="dependency") == 1.0


def test_a_worker_that_only_answers_probes_in_front_of_django_refreshes_its_memory(
    tmp_path, monkeypatch
):
    """Probes answered by with_health_probes() never reach request_finished, yet the worker's memory shows."""
    pids: list[str] = []
    text = _workers(tmp_path, ["front"], monkeypatch, pids)
    assert value(text, "stability_process_resident_memory_bytes", pid=pids[0]) > 0
