"""The monitoring stack of deploy/: compose runs Prometheus, Grafana and Alertmanager on the kit's files."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

from tests.deploy.test_monitoring import (
    DASHBOARD,
    DEPLOY,
    PROMETHEUS,
    alert_rules,
    load_yaml,
    run,
)


def _compose() -> dict[str, Any]:
    compose = load_yaml(DEPLOY / "compose.yaml")
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
    config = load_yaml(PROMETHEUS / "prometheus.yml")
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
    result = run(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisioning_finds_prometheus_and_the_dashboard():
    """The data source is compose's Prometheus, and the provider reads the directory the dashboard is mounted in."""
    provisioning = DEPLOY / "grafana" / "provisioning"
    (source,) = load_yaml(provisioning / "datasources" / "prometheus.yml")[
        "datasources"
    ]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True
    (provider,) = load_yaml(provisioning / "dashboards" / "django-stability.yml")[
        "providers"
    ]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"


def _alertmanager() -> dict[str, Any]:
    config = load_yaml(DEPLOY / "alertmanager" / "alertmanager.yml")
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
    assert {rule["labels"]["severity"] for rule in alert_rules()} <= routed
    for name, receiver in receivers.items():
        assert any(key.endswith("_configs") for key in receiver), name
    # The example sends to a webhook.
    assert any("webhook_configs" in receiver for receiver in receivers.values())


def test_amtool_accepts_the_alertmanager_config():
    """amtool check-config accepts alertmanager.yml (skipped where amtool is not installed)."""
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (apt-get install prometheus-alertmanager)")
    result = run(
        amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr
