"""deploy/rollout.py rolls back a broken release behind the kit's nginx while the site serves.

Two instances of its own (process mode: the script starts the kit's gunicorn
command, with two uvicorn workers each) behind nginx with ``deploy/nginx.conf``,
on the topology's database and Redis. Release v1 is deployed with the script;
release v2's management commands work (preflight, backup, migrate pass) but its
ASGI module fails to import, so its first instance never gets ready: the
script starts v1 there again, never touches the second instance, exits 1, and
no request through nginx fails meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.deploy.kit import ROOT, WAIT, Load, Nginx, get
from tests.fixtures.redis_server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROLLOUT = ROOT / "deploy" / "rollout.py"
LOAD_THREADS = 4


def _release(directory: Path, name: str, *, broken: bool) -> None:
    """A release as a checkout of its own: the example project and the kit's deploy/ files."""
    release = directory / name
    release.mkdir(parents=True)
    (release / "deploy").symlink_to(ROOT / "deploy")
    if not broken:
        (release / "example_project").symlink_to(ROOT / "example_project")
        return
    # Its management commands work (preflight passes); its ASGI module does not import.
    shutil.copytree(
        ROOT / "example_project",
        release / "example_project",
        ignore=shutil.ignore_patterns("__pycache__", "staticfiles", "*.sqlite3"),
    )
    with (release / "example_project" / "asgi.py").open("a") as asgi:
        asgi.write('\nraise RuntimeError("this release is broken on purpose")\n')


def _stop_pid_files(run_dir: Path) -> None:
    for pid_file in run_dir.glob("*.pid"):
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for pid_file in run_dir.glob("*.pid"):
        pid = int(pid_file.read_text().split()[0])
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def test_the_rollout_script_rolls_back_a_broken_release_while_the_site_serves(
    kit_env: dict[str, str], tmp_path: Path
) -> None:
    """Release v2 never gets ready on web1: rollout.py starts v1 there again, web2 is untouched, nothing fails."""
    releases, env_files, run_dir = (
        tmp_path / "releases",
        tmp_path / "env",
        tmp_path / "run",
    )
    env_files.mkdir()
    ports = {"web1": free_port(), "web2": free_port()}
    base = {k: v for k, v in kit_env.items() if k not in ("PYTHONPATH", "PATH")}
    for name, broken in (("v1", False), ("v2", True)):
        _release(releases, name, broken=broken)
        lines = {**base, "APP_VERSION": name}
        (env_files / f"{name}.env").write_text(
            "".join(f"{key}={value}\n" for key, value in lines.items())
        )
    gunicorn = shlex.join(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            "deploy/gunicorn.conf.py",
        ]
    )
    config = tmp_path / "rollout.toml"
    config.write_text(
        f"""
[rollout]
mode = "process"
cwd = {json.dumps(str(releases / "{release}"))}
env_file = {json.dumps(str(env_files / "{release}.env"))}
manage = {json.dumps(shlex.join([sys.executable, "example_project/manage.py"]))}
command = {
            json.dumps(
                f"env PROMETHEUS_MULTIPROC_DIR={tmp_path}/metrics-{{instance}} {gunicorn} "
                "--bind 127.0.0.1:{port} example_project.asgi:application"
            )
        }
run_dir = {json.dumps(str(run_dir))}
ready_url = "http://127.0.0.1:{{port}}/stability/health/ready"
ready_timeout = {int(WAIT)}
stop_timeout = 30
dependency_wait = 30
state_file = {json.dumps(str(tmp_path / "state.json"))}

[backup]
dir = {json.dumps(str(tmp_path / "backups"))}
command = "/usr/lib/postgresql/15/bin/pg_dump --format=custom --no-password"
"""
        + "".join(
            f'\n[[instances]]\nname = "{name}"\nport = {port}\n'
            for name, port in ports.items()
        )
    )

    def rollout(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROLLOUT), "--config", str(config), *args],
            cwd=ROOT, env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip

    nginx = Nginx(tmp_path, list(ports.values()))
    try:
        first = rollout("v1", "--previous", "v1")  # the first deploy: nothing to stop
        assert first.returncode == 0, first.stdout + first.stderr
        nginx.start()
        load = Load(nginx.url, ("/", "/api/notes/", "/stability/version"))
        threads = [threading.Thread(target=load.run) for _ in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        try:
            web2 = (run_dir / "web2.pid").read_text()
            result = rollout("v2")
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(60)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "rolled back: web1 runs v1 again" in output, output
        assert "untouched: web2" in output, output
        assert (run_dir / "web2.pid").read_text() == web2
        for port in ports.values():
            status, headers, _ = get(f"http://127.0.0.1:{port}/")
            assert status == 200 and headers["X-App-Version"] == "v1"
        assert json.loads((tmp_path / "state.json").read_text())["instances"] == {
            "web1": "v1",
            "web2": "v1",
        }
        print(f"{load.answered} requests through nginx during the rollout")
        assert load.answered > 50, load.answered
        assert load.failures == [], load.failures[:20]
        assert list((tmp_path / "backups").glob("*.dump")), output
    finally:
        nginx.stop()
        _stop_pid_files(run_dir)
