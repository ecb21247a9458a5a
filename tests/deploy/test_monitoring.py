"""The monitoring kit of deploy/: alert rules and their unit tests, the Grafana dashboard, Alertmanager.

promtool (Debian's ``prometheus`` package) checks the rules, runs
``alerts.test.yml`` and parses every dashboard query; the metric names the
rules and panels read are compared with the ones django-stability exports.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from django_stability import metrics
from tests import services

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "django-stability.json"
SEVERITIES = {"critical", "warning", "info"}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture
def promtool() -> str:
    """promtool's path; a skip without it, a failure with STABILITY_REQUIRE_SERVICES=1."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if services.REQUIRE:
            pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    return path


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _rules() -> list[dict[str, Any]]:
    groups = _load(PROMETHEUS / "alerts.yml")["groups"]
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
    result = _run(promtool, "check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_alert_rule_unit_tests_pass(promtool):
    """promtool test rules runs alerts.test.yml: each alert fires on its condition and stays quiet otherwise."""
    result = _run(promtool, "test", "rules", "alerts.test.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_quiet():
    """alerts.test.yml makes each alert fire once and expects it quiet once, and names no alert that does not exist."""
    alerts = {rule["alert"] for rule in _rules()}
    checks = [
        check
        for test in _load(PROMETHEUS / "alerts.test.yml")["tests"]
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
    rules = _rules()
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
    rule = next(rule for rule in _rules() if rule["alert"] == "NotReady")
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
    result = _run(promtool, "check", "rules", str(path))
    # promtool names the rule; say which panel it is.
    failing = {int(n) for n in re.findall(r"dashboard_query_(\d+)", result.stderr)}
    panels = [queries[number][0] for number in sorted(failing)]
    assert result.returncode == 0, f"{panels}: {result.stdout}{result.stderr}"
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_alerts_and_panels_read_only_metrics_the_app_exports():
    """Every metric name in a rule or a panel is one django-stability exports (or Prometheus's up)."""
    exported = _exported()
    sources = [(rule["alert"], rule["expr"]) for rule in _rules()]
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


def _compose() -> dict[str, Any]:
    compose = _load(DEPLOY / "compose.yaml")
    assert isinstance(compose, dict)
    return compose


def test_compose_mounts_only_files_that_exist():
    """Every bind mount of compose.yaml names a file or directory of deploy/ (the monitoring ones read-only)."""
    mounted = {}
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):  # the long syntax
                source, target = volume.get("source", ""), volume["target"]
                options = ["ro"] if volume.get("read_only") else []
            else:
                source, target, *options = volume.split(":")
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} is missing"
                mounted[target] = (DEPLOY / source).resolve(), options
    for target in (
        "/etc/prometheus/alerts.yml",
        "/etc/alertmanager/alertmanager.yml",
        "/etc/grafana/provisioning/datasources",
        "/etc/grafana/provisioning/dashboards",
        "/etc/grafana/dashboards",
    ):
        assert mounted[target][1] == ["ro"], target
    assert mounted["/etc/grafana/dashboards"][0] == DASHBOARD.parent


def test_compose_runs_grafana_and_alertmanager():
    """Grafana (password required from the environment) and Alertmanager run beside Prometheus, with health checks."""
    services_ = _compose()["services"]
    grafana, alertmanager = services_["grafana"], services_["alertmanager"]
    assert grafana["image"].startswith("grafana/grafana-oss:")
    assert "3000:3000" in grafana["ports"]
    password = grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert alertmanager["image"].startswith("prom/alertmanager:")
    for service in (grafana, alertmanager):
        assert service["healthcheck"]["test"]
    volumes = _compose()["volumes"]
    assert {"grafana", "alertmanager"} <= set(volumes)


def test_prometheus_sends_alerts_to_the_alertmanager_service():
    """prometheus.yml's alerting section names compose's alertmanager on its port."""
    config = _load(PROMETHEUS / "prometheus.yml")
    targets = [
        target
        for manager in config["alerting"]["alertmanagers"]
        for static in manager["static_configs"]
        for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    ports = _compose()["services"]["alertmanager"]["ports"]
    assert any(port.endswith(":9093") for port in ports)


def test_promtool_accepts_the_prometheus_config(promtool, tmp_path):
    """promtool check config accepts prometheus.yml with its container paths pointed at the kit's files."""
    token = tmp_path / "metrics-token"
    token.write_text("token\n")
    text = (
        (PROMETHEUS / "prometheus.yml")
        .read_text()
        .replace("/etc/prometheus/alerts.yml", str(PROMETHEUS / "alerts.yml"))
        .replace("/etc/prometheus/metrics-token", str(token))
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(text)
    result = _run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisioning_finds_prometheus_and_the_dashboard():
    """The data source is compose's Prometheus, and the provider reads the directory the dashboard is mounted in."""
    provisioning = DEPLOY / "grafana" / "provisioning"
    (source,) = _load(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True
    (provider,) = _load(provisioning / "dashboards" / "django-stability.yml")[
        "providers"
    ]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"


def _alertmanager() -> dict[str, Any]:
    config = _load(DEPLOY / "alertmanager" / "alertmanager.yml")
    assert isinstance(config, dict)
    return config


def test_alertmanager_routes_every_severity_to_a_receiver():
    """Each severity the rules use has a route, and every route ends at a receiver that sends somewhere."""
    config = _alertmanager()
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    routes = config["route"].get("routes", [])
    assert config["route"]["receiver"] in receivers
    routed = set()
    for route in routes:
        assert route["receiver"] in receivers
        for matcher in route["matchers"]:
            found = re.fullmatch(r'severity="(\w+)"', matcher)
            if found:
                routed.add(found.group(1))
    assert {rule["labels"]["severity"] for rule in _rules()} <= routed
    for name, receiver in receivers.items():
        assert any(key.endswith("_configs") for key in receiver), name
    # The example sends to a webhook.
    assert any("webhook_configs" in receiver for receiver in receivers.values())


def test_amtool_accepts_the_alertmanager_config():
    """amtool check-config accepts alertmanager.yml (skipped where amtool is not installed)."""
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (apt-get install prometheus-alertmanager)")
    result = _run(
        amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr
