"""The monitoring kit of deploy/: alert rules and their unit tests, the Grafana dashboard.

The stack that runs them (compose, Prometheus, Grafana, Alertmanager): ``test_monitoring_stack.py``.

promtool (Debian's ``prometheus`` package) checks the rules, runs
``alerts.test.yml`` and parses every dashboard query; the metric names the
rules and panels read are compared with the ones django-stability exports.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from django_stability import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "django-stability.json"
SEVERITIES = {"critical", "warning", "info"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _panel_queries() -> list[tuple[str, str]]:
    """(panel title and refId, PromQL) for every query of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['title']} {target['refId']}", target["expr"])
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


# Grafana's variables, replaced by values of their kind so that promtool can parse.
_GRAFANA_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}


def _concrete(expr: str) -> str:
    """The query as Grafana sends it: durations for $__rate_interval and co, ``.*`` for "All"."""
    return re.sub(
        r"\$\{?(\w+)\}?", lambda m: _GRAFANA_VALUES.get(m.group(1), ".*"), expr
    )


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_GROUPING = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
)
# A name not followed by "(" (functions and aggregations are).
_NAME = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
# group_left and group_right may stand without a label list.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right"}
_KEYWORDS |= {"inf", "nan"}


def _metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label names, strings and functions left out)."""
    bare = _GROUPING.sub(" ", _BRACES.sub(" ", _STRINGS.sub(" ", _concrete(expr))))
    return {name for name in _NAME.findall(bare) if name.lower() not in _KEYWORDS}


_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


def _exported() -> set[str]:
    """Every sample name django-stability exports, from prometheus-client's registry, plus ``up``."""
    families = [
        (family.name, family.type)
        for family in REGISTRY.collect()
        if family.name.startswith("stability_")
    ]
    # A metric object of django_stability.metrics that registers itself on first
    # use (a gauge without labels) is not in the registry until then.
    families += [
        (value.name, "gauge")
        for value in vars(metrics).values()
        if not isinstance(value, MetricWrapperBase)
        and isinstance(getattr(value, "name", None), str)
        and value.name.startswith("stability_")
    ]
    return {"up"} | {
        name + suffix
        for name, kind in families
        for suffix in _SUFFIXES.get(kind, ("",))
    }


def test_promtool_accepts_the_alert_rules(promtool):
    """promtool check rules finds every rule of alerts.yml valid."""
    result = run(promtool, "check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_alert_rule_unit_tests_pass(promtool):
    """promtool test rules runs alerts.test.yml: each alert fires on its condition and stays quiet otherwise."""
    result = run(promtool, "test", "rules", "alerts.test.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_quiet():
    """alerts.test.yml makes each alert fire once and expects it quiet once, and names no alert that does not exist."""
    alerts = {rule["alert"] for rule in alert_rules()}
    checks = [
        check
        for test in load_yaml(PROMETHEUS / "alerts.test.yml")["tests"]
        for check in test["alert_rule_test"]
    ]
    # promtool passes "expect nothing" for a misspelt alert name: catch it here.
    assert {check["alertname"] for check in checks} <= alerts
    for alert in alerts:
        expected = [
            check["exp_alerts"] for check in checks if check["alertname"] == alert
        ]
        assert any(expected), f"{alert} is never expected to fire"
        assert not all(expected), f"{alert} is never expected to stay quiet"


def test_every_alert_has_a_severity_a_delay_and_explains_itself():
    """Each rule waits a `for`, carries a known severity, a summary and a description."""
    rules = alert_rules()
    assert {
        "NotReady",
        "HealthCheckFailing",
        "CircuitBreakerOpen",
        "HighErrorRate",
        "HighLatency",
        "DatabasePoolWaiting",
        "DatabasePoolNearlyFull",
        "ManyRateLimited",
        "MemoryNearLimit",
        "TargetDown",
    } <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["for"], rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_not_ready_reads_the_readiness_gauge():
    """NotReady reads what the app records, not probe requests that never reach Django's metrics."""
    rule = next(rule for rule in alert_rules() if rule["alert"] == "NotReady")
    assert _metrics_in(rule["expr"]) == {"stability_health_ready"}


def test_every_dashboard_query_parses(promtool, tmp_path):
    """Each panel's PromQL, its Grafana variables filled in, is valid for promtool (one recording rule per query)."""
    queries = _panel_queries()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard_query_{number}", "expr": _concrete(expr)}
                    for number, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run(promtool, "check", "rules", str(path))
    # promtool names the rule; say which panel it is.
    failing = {int(n) for n in re.findall(r"dashboard_query_(\d+)", result.stderr)}
    panels = [queries[number][0] for number in sorted(failing)]
    assert result.returncode == 0, f"{panels}: {result.stdout}{result.stderr}"
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_alerts_and_panels_read_only_metrics_the_app_exports():
    """Every metric name in a rule or a panel is one django-stability exports (or Prometheus's up)."""
    exported = _exported()
    sources = [(rule["alert"], rule["expr"]) for rule in alert_rules()]
    sources += _panel_queries()
    for where, expr in sources:
        names = _metrics_in(expr)
        assert names, f"{where}: no metric in {expr!r}"
        assert names <= exported, f"{where}: unknown {sorted(names - exported)}"


def test_the_metric_name_reader_sees_names_not_labels_or_functions():
    """The reader behind the previous test finds metric names, and only them."""
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(stability_http_request_duration_seconds_bucket{job="django", instance=~"$instance"}[$__rate_interval])))'
        " / on (route) group_left max without (pid) (stability_breaker_state offset 5m) > bool 1e3"
        " or absent(up)"
    )
    assert _metrics_in(expr) == {
        "stability_http_request_duration_seconds_bucket",
        "stability_breaker_state",
        "up",
    }


def test_dashboard_covers_every_area_and_uses_its_variables():
    """Panels show requests, latency, errors, breakers, rate limits, realtime, pool, health, memory and CPU, per chosen instance."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "django-stability"
    queries = _panel_queries()
    read = set().union(*(_metrics_in(expr) for _, expr in queries))
    assert {
        "stability_http_requests_total",
        "stability_http_request_duration_seconds_bucket",
        "stability_breaker_state",
        "stability_breaker_calls_total",
        "stability_ratelimited_total",
        "stability_realtime_connections",
        "stability_db_pool_waiting",
        "stability_health_check_status",
        "stability_health_ready",
        "stability_process_resident_memory_bytes",
        "stability_process_memory_limit_bytes",
        "stability_process_cpu_seconds_total",
    } <= read
    legends = {
        target.get("legendFormat")
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
    }
    assert {"p50", "p95", "p99"} <= legends
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    panels = [p for p in _panels(dashboard["panels"]) if p["type"] != "row"]
    assert len({p["id"] for p in _panels(dashboard["panels"])}) == len(
        list(_panels(dashboard["panels"]))
    )
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            # Every app query follows the instance picker.
            assert 'instance=~"$instance"' in target["expr"], panel["title"]
