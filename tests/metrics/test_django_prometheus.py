"""Beside django-prometheus: both sets of metrics in one registry, each endpoint showing both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip(
    "django_prometheus",
    reason="django-prometheus does not install beside Django 6.1 (it caps Django below 6.1)",
)


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
    done = subprocess.run(
        [sys.executable, "-m", "tests.metrics._with_django_prometheus", "5"],
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
