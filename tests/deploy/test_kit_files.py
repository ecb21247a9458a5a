"""The kit's files agree with each other: the env template, the entry point, compose and the Dockerfile."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import django_stability.db
from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TIMEOUT = 120


def _read(path: Path) -> str:
    return path.read_text()


def _found(pattern: str, *paths: Path) -> set[str]:
    return {name for path in paths for name in re.findall(pattern, _read(path))}


def _template() -> dict[str, str]:
    """``KEY=value`` of env.example, commented-out lines included (they show the default)."""
    return dict(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", _read(DEPLOY / "env.example"), re.M)
    )


def _read_by_settings() -> set[str]:
    settings = _found(
        r"""\b(?:env\.get|_flag|_int|_list|_redis_url)\(\s*["']([A-Z][A-Z0-9_]*)["']""",
        ROOT / "example_project" / "settings.py",
    )
    database = _found(
        r"""\b_(?:get|number)\(\s*env,\s*["']([A-Z][A-Z0-9_]*)["']""",
        # The installed module: under tox the tests run beside the wheel, not the source.
        Path(django_stability.db.__file__),
    )
    return settings | database


def test_the_template_lists_every_variable_the_settings_read():
    """settings.py's env.get/_flag/_int/_list and database_from_env's variables are all in env.example."""
    read = _read_by_settings()
    # The patterns found what they are meant to find.
    assert {"SECRET_KEY", "DEBUG", "DRAIN_SECONDS", "ALLOWED_HOSTS"} <= read
    assert {"DATABASE_URL", "DB_POOL_MAX", "DB_STATEMENT_TIMEOUT"} <= read
    assert sorted(read - set(_template())) == []


def test_the_template_lists_every_variable_of_the_kit():
    """gunicorn.conf.py, compose ${...}, the entry point and rollout.py read nothing the template lacks."""
    gunicorn = _found(
        r"""environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""", DEPLOY / "gunicorn.conf.py"
    )
    compose = _found(r"\$\{([A-Z][A-Z0-9_]*)", DEPLOY / "compose.yaml")
    entrypoint = _found(r"\$\{([A-Z][A-Z0-9_]*)", DEPLOY / "entrypoint.sh")
    rollout = _found(
        r"""env\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""", DEPLOY / "rollout.py"
    )
    assert {"PORT", "WEB_CONCURRENCY", "GRACEFUL_TIMEOUT"} <= gunicorn
    assert {"SECRET_KEY", "METRICS_TOKEN", "APP_TAG"} <= compose
    assert {"DEPENDENCY_WAIT", "SKIP_DEPENDENCY_WAIT"} <= entrypoint
    assert "DATABASE_URL" in rollout
    read = gunicorn | compose | entrypoint | rollout
    assert sorted(read - set(_template())) == []


def test_the_template_has_a_comment_for_each_variable_and_no_real_secret():
    """Each KEY= line follows a comment line; the secrets are empty, so compose refuses to start without them."""
    lines = _read(DEPLOY / "env.example").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line):
            assert lines[number - 1].startswith("#"), line
    template = _template()
    assert template["SECRET_KEY"] == "" and template["METRICS_TOKEN"] == ""
    compose = _read(DEPLOY / "compose.yaml")
    assert "${SECRET_KEY:?" in compose and "${METRICS_TOKEN:?" in compose


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load(_read(DEPLOY / "compose.yaml"))
    return compose


def test_compose_gates_nginx_on_a_ready_app():
    """The app's health check asks readiness, and nginx starts only once the app is healthy."""
    services = _compose()["services"]
    test = " ".join(services["app"]["healthcheck"]["test"])
    assert "/stability/health/ready" in test and "/live" not in test
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    # The image's own check stays on liveness (a database outage kills nothing).
    healthcheck = re.search(
        r"^HEALTHCHECK .*?(?<!\\)\n", _read(DEPLOY / "Dockerfile"), re.M | re.S
    )
    assert healthcheck is not None and "/stability/health/live" in healthcheck.group(0)


def test_compose_limits_memory_and_keeps_the_grace_period():
    """app, purge-drafts, migrate, postgres, redis and nginx have memory limits; the app keeps 40 s to stop."""
    services = _compose()["services"]
    for name in ("app", "purge-drafts", "migrate", "postgres", "redis", "nginx"):
        limit = services[name]["deploy"]["resources"]["limits"]["memory"]
        assert re.fullmatch(r"\d+[mg]", limit), (name, limit)
    assert services["app"]["deploy"]["replicas"] > 1
    assert services["app"]["stop_grace_period"] == "40s"
    # Redis's own cap must fit inside the container's.
    redis = services["redis"]
    maxmemory = redis["command"][redis["command"].index("--maxmemory") + 1]
    assert int(maxmemory.removesuffix("mb")) < int(
        redis["deploy"]["resources"]["limits"]["memory"].removesuffix("m")
    )


def test_compose_hands_the_env_file_to_the_app_containers():
    """deploy/.env reaches the app services when it exists, and the image tag is the release."""
    services = _compose()["services"]
    for name in ("app", "migrate", "purge-drafts"):
        assert services[name]["env_file"] == [{"path": ".env", "required": False}]
    assert services["app"]["image"].endswith(":${APP_TAG:-latest}")


def test_the_image_runs_the_entrypoint_as_the_unprivileged_user():
    """ENTRYPOINT is the script, copied executable, included in the build context; USER stays non-root."""
    dockerfile = _read(DEPLOY / "Dockerfile")
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    assert "COPY --chmod=0755 deploy/entrypoint.sh ./deploy/entrypoint.sh" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and not users[-1].startswith(("root", "0"))
    assert dockerfile.index("USER ") < dockerfile.index("ENTRYPOINT ")
    assert (
        "!deploy/entrypoint.sh"
        in _read(DEPLOY / "Dockerfile.dockerignore").splitlines()
    )


def test_the_entrypoint_is_executable_posix_sh():
    """entrypoint.sh has its executable bit and passes ``sh -n``."""
    script = DEPLOY / "entrypoint.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    assert _read(script).startswith("#!/bin/sh\n")
    result = subprocess.run(
        ["sh", "-n", str(script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _env(**overrides: str) -> dict[str, str]:
    """This interpreter first on PATH (the image's ``python``), production-like settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return (
        env
        | {
            "DEBUG": "0",
            "SECRET_KEY": "entrypoint-test-" + "x" * 40,
            "LOG_LEVEL": "ERROR",
        }
        | overrides
    )


def _entrypoint(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the entry point from the repository root, as the image's WORKDIR is laid out."""
    return subprocess.run(
        [str(DEPLOY / "entrypoint.sh"), *command],
        cwd=ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


@pytest.fixture
def dead_database() -> str:
    """A PostgreSQL URL on a loopback port where nothing listens."""
    return f"postgres://app@127.0.0.1:{free_port()}/app"


def test_the_entrypoint_does_not_run_the_command_while_the_database_is_down(
    dead_database,
):
    """With PostgreSQL unreachable the entry point exits non-zero and the command never runs."""
    result = _entrypoint(
        "echo", "served", DATABASE_URL=dead_database, DEPENDENCY_WAIT="0"
    )
    assert result.returncode != 0
    assert "served" not in result.stdout
    assert "not ready: " in result.stderr and "database" in result.stderr


def test_commands_without_dependencies_skip_the_wait(dead_database):
    """collectstatic-like commands (here ``check``) and SKIP_DEPENDENCY_WAIT=1 run at once, database down or not."""
    result = _entrypoint(
        "python",
        "example_project/manage.py",
        "check",
        DATABASE_URL=dead_database,
        DEPENDENCY_WAIT="0",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified" in result.stdout
    skipped = _entrypoint(
        "echo", "served", DATABASE_URL=dead_database, SKIP_DEPENDENCY_WAIT="1"
    )
    assert skipped.returncode == 0 and skipped.stdout == "served\n"


def test_the_entrypoint_runs_the_command_once_dependencies_answer(tmp_path):
    """A migrated database: the checks pass and the command runs in the entry point's place (exec)."""
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate = _entrypoint(
        "python",
        "example_project/manage.py",
        "migrate",
        "--noinput",
        DATABASE_URL=database,
    )
    assert migrate.returncode == 0, migrate.stderr
    # exec: the command is the entry point's own process, so it gets SIGTERM itself.
    process = subprocess.Popen(
        [str(DEPLOY / "entrypoint.sh"), "sh", "-c", "echo served by $$"],
        cwd=ROOT,
        env=_env(DATABASE_URL=database, DEPENDENCY_WAIT="5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr
    *checks, served = stdout.splitlines()
    assert any(line.startswith("ok   database") for line in checks)
    assert served == f"served by {process.pid}"


def test_the_rollout_script_explains_itself():
    """``python deploy/rollout.py --help`` names the steps and the exit statuses."""
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "rollout.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "one at a time" in result.stdout and "1 rolled back" in result.stdout


@pytest.fixture
def rollout(monkeypatch: pytest.MonkeyPatch) -> Any:
    """deploy/rollout.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("rollout", DEPLOY / "rollout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "rollout", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_the_documented_rollout_configurations_load(tmp_path, rollout):
    """The complete TOML examples of docs/deployment.rst are configurations rollout.py accepts."""
    docs = _read(ROOT / "docs" / "deployment.rst")
    blocks = re.findall(r"\.\. code-block:: toml\n\n((?:   .*\n|\n)+)", docs)
    complete = [block for block in blocks if "[[instances]]" in block]
    assert len(complete) >= 2  # processes on a host, and compose
    modes = set()
    for number, block in enumerate(complete):
        path = tmp_path / f"rollout{number}.toml"
        path.write_text("\n".join(line[3:] for line in block.splitlines()))
        config = rollout.Config.load(path)
        modes.add(config.mode)
        assert len(config.instances) == 2
    assert modes == {"process", "commands"}


def test_a_stale_pid_file_never_gets_another_program_killed(tmp_path, rollout):
    """A pid file whose pid now belongs to another process (its start time differs) is skipped, not signalled."""
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        (tmp_path / "web1.pid").write_text(
            f"{other.pid} 1\n"
        )  # started at tick 1: not it
        config = rollout.Config(
            mode="process",
            instances=[rollout.Instance("web1", 8001)],
            manage="python manage.py",
            ready_url="http://127.0.0.1:{port}/",
            command="server --port {port}",
            run_dir=str(tmp_path),
        )
        rollout.Rollout(config, "v2", {"web1": "v1"}).stop(config.instances[0], "v1")
        assert other.poll() is None
        assert not (tmp_path / "web1.pid").exists()
    finally:
        other.stdin.close()  # type: ignore[union-attr]
        other.wait(timeout=TIMEOUT)
