"""A rollout site for tests/deploy/test_rollout*.py: releases, two uvicorn instances of the example project, rollout.py's configuration."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "rollout.py"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
APP = "example_project.asgi:application"
START_TIMEOUT = 90.0  # a loaded two-core machine starts Django slowly
ROLLOUT_TIMEOUT = 600.0
REQUEST_TIMEOUT = 5.0
SECRET_KEY = secrets.token_urlsafe(50)  # one for every release: sessions survive a roll


def get(port: int, path: str) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


def status(port: int, path: str) -> int | None:
    try:
        return get(port, path)[0]
    except OSError:
        return None


@dataclass
class Site:
    """Releases as env files, two instances on free ports, the rollout configuration."""

    tmp: Path
    ports: dict[str, int]
    config: Path
    run_dir: Path
    backups: Path
    state: Path
    database: str

    def write_release(self, release: str, **overrides: str) -> None:
        env = {
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DEBUG": "0",
            "HTTPS": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": self.database,
            "DRAIN_SECONDS": "1",
            "APP_VERSION": release,
            "LOG_LEVEL": "WARNING",
            # The release names its entry point: a broken release names one that fails.
            "UVICORN_APP": APP,
        } | overrides
        lines = [f"{key}={value}" for key, value in env.items()]
        (self.tmp / "releases" / f"{release}.env").write_text("\n".join(lines) + "\n")

    def env(self, release: str) -> dict[str, str]:
        env = dict(os.environ)
        for line in (self.tmp / "releases" / f"{release}.env").read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        return env

    def pid(self, instance: str) -> int:
        return int((self.run_dir / f"{instance}.pid").read_text().split()[0])

    def rollout(self, release: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--config",
                str(self.config),
                release,
                *extra,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONDEVMODE": "0"},
            capture_output=True,
            text=True,
            timeout=ROLLOUT_TIMEOUT,
            check=False,
        )


def server_command() -> str:
    return shlex.join(
        [
            sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT),
            "--host", "127.0.0.1", "--no-access-log",
            "--no-proxy-headers",
        ]
    ) + " --port {port}"  # fmt: skip


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return (
            Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
        )
    except OSError:
        return False


@contextlib.contextmanager
def running_site(database: str, tmp_path: Path) -> Iterator[Site]:
    """Release v1 migrated and running on two instances (pid files as rollout.py keeps them)."""
    for name in ("releases", "run", "backups"):
        (tmp_path / name).mkdir()
    ports = {"web1": free_port(), "web2": free_port()}
    site = Site(
        tmp=tmp_path,
        ports=ports,
        config=tmp_path / "rollout.toml",
        run_dir=tmp_path / "run",
        backups=tmp_path / "backups",
        state=tmp_path / "state.json",
        database=database,
    )
    manage = shlex.join([sys.executable, str(ROOT / "example_project" / "manage.py")])
    pg_dump = shlex.join([str(PG_BIN / "pg_dump"), "--format=custom", "--no-password"])
    instances = "".join(
        f'\n[[instances]]\nname = "{name}"\nport = {port}\n'
        for name, port in ports.items()
    )
    site.config.write_text(
        f"""
[rollout]
mode = "process"
command = {json.dumps(server_command())}
run_dir = {json.dumps(str(site.run_dir))}
cwd = {json.dumps(str(ROOT))}
env_file = {json.dumps(str(tmp_path / "releases" / "{release}.env"))}
manage = {json.dumps(manage)}
ready_url = "http://127.0.0.1:{{port}}/stability/health/ready"
ready_timeout = {START_TIMEOUT}
stop_timeout = 30
dependency_wait = 30
state_file = {json.dumps(str(site.state))}

[backup]
dir = {json.dumps(str(site.backups))}
command = {json.dumps(pg_dump)}
{instances}"""
    )
    site.write_release("v1")
    migrate = subprocess.run(
        [sys.executable, "example_project/manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=site.env("v1"), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, port in ports.items():
            with (site.run_dir / f"{name}.log").open("ab") as log:
                process = subprocess.Popen(
                    [*shlex.split(server_command()), "--port", str(port)],
                    cwd=ROOT, env=site.env("v1"), stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, start_new_session=True,
                )  # fmt: skip
            started.append(process)
            (site.run_dir / f"{name}.pid").write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        for port in ports.values():
            while status(port, "/stability/health/ready") != 200:
                assert time.monotonic() < deadline, "v1 never became ready"
                time.sleep(0.2)
        site.state.write_text(json.dumps({"instances": dict.fromkeys(ports, "v1")}))
        yield site
    finally:
        # Whatever runs now on the instances (started here or by rollout.py) stops.
        pids = {process.pid for process in started}
        for pid_file in site.run_dir.glob("*.pid"):
            pids.add(int(pid_file.read_text().split()[0]))
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for pid in pids:
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid):  # pragma: no cover - only if a server hangs on SIGTERM
                os.kill(pid, signal.SIGKILL)
        for process in started:
            process.wait(timeout=10)


class LiveWatch:
    """Asks both instances' liveness probe, round after round, while a rollout runs."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.rounds: list[list[int | None]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + ROLLOUT_TIMEOUT
        while not self.done.is_set() and time.monotonic() < deadline:
            self.rounds.append(
                [status(port, "/stability/health/live") for port in self.ports]
            )
            self.done.wait(0.05)

    def __enter__(self) -> LiveWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=REQUEST_TIMEOUT * len(self.ports) + 5)
