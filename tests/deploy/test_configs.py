"""The deployment kit in deploy/ parses, and says what the docs promise."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import services

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text())


def test_compose_has_the_services_with_healthchecks():
    """PostgreSQL, Redis, the app, nginx, Prometheus and the purge loop are there; long-running ones check their health."""
    services_ = _load("compose.yaml")["services"]
    assert {
        "postgres",
        "redis",
        "migrate",
        "app",
        "purge-drafts",
        "nginx",
        "prometheus",
    } <= set(services_)
    for name in ("postgres", "redis", "app", "nginx", "prometheus"):
        assert services_[name]["healthcheck"]["test"], name


def test_compose_app_runs_several_asgi_workers_on_postgres_and_redis():
    """The app is gunicorn with uvicorn workers, several per container, on the shared PostgreSQL and Redis."""
    app = _load("compose.yaml")["services"]["app"]
    assert app["command"][0] == "gunicorn"
    assert int(app["environment"]["WEB_CONCURRENCY"]) > 1
    assert app["deploy"]["replicas"] > 1
    assert app["environment"]["DATABASE_URL"].startswith("postgres://")
    assert app["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # The liveness check is Python: the image has no curl.
    assert "urllib.request" in " ".join(app["healthcheck"]["test"])
    # Readiness: nginx's depends_on waits for a ready app (tests/deploy/test_kit_files.py).
    assert "/stability/health/ready" in " ".join(app["healthcheck"]["test"])


def test_compose_purges_drafts_in_a_loop():
    """A sidecar runs manage.py purge_drafts, then sleeps, forever."""
    command = " ".join(_load("compose.yaml")["services"]["purge-drafts"]["command"])
    assert "manage.py purge_drafts" in command
    assert "while true" in command and "sleep" in command


def test_compose_trusts_only_its_own_network_as_proxy():
    """TRUSTED_PROXIES is the compose network's subnet, where nginx lives."""
    compose = _load("compose.yaml")
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    environment = compose["services"]["app"]["environment"]
    assert environment["TRUSTED_PROXIES"] == subnet
    # The server must not believe X-Forwarded-For from everybody on the app's behalf.
    assert environment.get("FORWARDED_ALLOW_IPS", "127.0.0.1") != "*"


def test_dockerfile_is_multi_stage_non_root_with_a_python_healthcheck():
    """Two stages, a numeric unprivileged USER, and a HEALTHCHECK on the live probe without curl."""
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert "COPY --from=build" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    healthcheck = re.search(r"^HEALTHCHECK .*?(?<!\\)\n", text, re.M | re.S)
    assert healthcheck is not None
    assert "/stability/health/live" in healthcheck.group(0)
    assert "python" in healthcheck.group(0) and "curl" not in healthcheck.group(0)


def test_gunicorn_config_marks_dead_workers_for_multiprocess_metrics(
    tmp_path, monkeypatch
):
    """child_exit removes a dead worker's live gauge files from PROMETHEUS_MULTIPROC_DIR."""
    source = (DEPLOY / "gunicorn.conf.py").read_text()
    ast.parse(source)
    namespace: dict[str, Any] = {}
    exec(compile(source, "gunicorn.conf.py", "exec"), namespace)
    assert namespace["worker_class"] == "uvicorn_worker.UvicornWorker"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livemostrecent_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    class Worker:
        pid = 4242

    namespace["child_exit"](None, Worker())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]
    namespace["on_starting"](None)
    assert list(tmp_path.iterdir()) == []


def test_prometheus_scrapes_the_metrics_endpoint_with_the_token():
    """The django job reads /stability/metrics with a bearer token file and loads the alert rules."""
    config = _load("prometheus/prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "django")
    assert job["metrics_path"] == "/stability/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_nginx_config_is_valid(tmp_path):
    """nginx -t accepts deploy/nginx.conf (the compose host name 'app' replaced by a loopback address)."""
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if nginx is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if services.REQUIRE:
            pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    # 'app' resolves only inside compose's network; nginx resolves upstreams at startup.
    text = (
        (DEPLOY / "nginx.conf")
        .read_text()
        .replace("server app:8000", "server 127.0.0.1:8000")
    )
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    result = subprocess.run(
        [nginx, "-t", "-c", str(config), "-p", str(tmp_path), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_nginx_keeps_realtime_unbuffered_and_headers_set():
    """SSE and WebSocket locations switch buffering off; security headers and the per-IP limit are set."""
    text = (DEPLOY / "nginx.conf").read_text()
    for location in ("/stability/events/", "/ws/"):
        block = text.split(f"location {location}", 1)[1].split("}", 1)[0]
        assert "proxy_buffering off;" in block, location
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "limit_req_zone" in text and "limit_req_status 429;" in text
    for header in (
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Content-Security-Policy",
    ):
        assert f"add_header {header}" in text
