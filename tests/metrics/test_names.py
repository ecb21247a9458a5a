"""Our metric names cannot collide with django-prometheus's, or with a project's own."""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from django_stability import metrics


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
