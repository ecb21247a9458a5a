"""deploy/rollout.py, run for real: two uvicorn instances of the example project on loopback, one PostgreSQL database."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests import services
from tests.fixtures.redis_server import free_port

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "rollout.py"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
APP = "example_project.asgi:application"
START_TIMEOUT = 90.0  # a loaded two-core machine starts Django slowly
ROLLOUT_TIMEOUT = 600.0
REQUEST_TIMEOUT = 5.0
SECRET_KEY = secrets.token_urlsafe(50)  # one for every release: sessions survive a roll


def _request(port: int, path: str) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


def _status(port: int, path: str) -> int | None:
    try:
        return _request(port, path)[0]
    except OSError:
        return None


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A PostgreSQL database of this module's own, dropped afterwards."""
    with services.throwaway_database("ds_rollout") as url:
        yield url


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


def _server_command() -> str:
    return shlex.join(
        [
            sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT),
            "--host", "127.0.0.1", "--no-access-log",
            "--no-proxy-headers",
        ]
    ) + " --port {port}"  # fmt: skip


def _alive(pid: int) -> bool:
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


@pytest.fixture
def site(database: str, tmp_path: Path) -> Iterator[Site]:
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
command = {json.dumps(_server_command())}
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
                    [*shlex.split(_server_command()), "--port", str(port)],
                    cwd=ROOT, env=site.env("v1"), stdin=subprocess.DEVNULL,
                    stdout=log, stderr=log, start_new_session=True,
                )  # fmt: skip
            started.append(process)
            (site.run_dir / f"{name}.pid").write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT
        for port in ports.values():
            while _status(port, "/stability/health/ready") != 200:
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
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):  # pragma: no cover - only if a server hangs on SIGTERM
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
                [_status(port, "/stability/health/live") for port in self.ports]
            )
            self.done.wait(0.05)

    def __enter__(self) -> LiveWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=REQUEST_TIMEOUT * len(self.ports) + 5)


def test_a_good_release_replaces_both_instances_one_at_a_time(site):
    """Both instances serve v2 afterwards, one answered live at every moment, and the backup restores."""
    site.write_release("v2")
    old = {name: site.pid(name) for name in site.ports}
    with LiveWatch(list(site.ports.values())) as watch:
        result = site.rollout("v2")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for name, port in site.ports.items():
        assert _request(port, "/")[1]["X-App-Version"] == "v2"
        assert site.pid(name) != old[name]
    # One at a time: web2 was stopped only after web1 answered ready on v2.
    assert output.index("web1: ready on v2") < output.index("web2: stop v1")
    assert watch.rounds and all(200 in round_ for round_ in watch.rounds), [
        r for r in watch.rounds if 200 not in r
    ]
    assert json.loads(site.state.read_text())["instances"] == {
        "web1": "v2",
        "web2": "v2",
    }
    (dump,) = site.backups.glob("*-before-v2.dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # every user's data
    listing = subprocess.run(
        [str(PG_BIN / "pg_restore"), "--list", str(dump)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert "notes_note" in listing.stdout
    # Restored into a database of its own (docs: Backup and restore), it holds the schema.
    with services.throwaway_database("ds_restored") as restored:
        restore = subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", "--dbname", restored, str(dump)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert restore.returncode == 0, restore.stderr
        count = "SELECT count(*) FROM django_migrations"
        with psycopg.connect(restored) as copy, psycopg.connect(site.database) as live:
            assert copy.execute(count).fetchone() == live.execute(count).fetchone()


def test_a_release_that_never_gets_ready_is_rolled_back_on_the_first_instance(site):
    """The broken release fails on web1, which serves v1 again; web2 is never touched; exit 1 says why."""
    site.write_release("v3", UVICORN_APP="example_project.no_such_module:application")
    web2 = site.pid("web2")
    result = site.rollout("v3")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "rolled back: web1 runs v1 again" in output
    assert "process exited; last readiness answer: no answer" in output
    assert "untouched: web2" in output
    assert _request(site.ports["web1"], "/")[1]["X-App-Version"] == "v1"
    assert _request(site.ports["web2"], "/")[1]["X-App-Version"] == "v1"
    assert site.pid("web2") == web2
    assert "web2:" not in output
    assert json.loads(site.state.read_text())["instances"] == {
        "web1": "v1",
        "web2": "v1",
    }


def test_a_failed_backup_stops_the_rollout_before_any_instance(site):
    """A release whose database does not answer: pg_dump fails, nothing is migrated or restarted, exit 3."""
    site.write_release(
        "v4", DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    )
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v4")
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "refused: backup failed" in output
    assert "no instance was touched" in output
    assert "migrate: with" not in output
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())
    for port in site.ports.values():
        assert _status(port, "/stability/health/ready") == 200


def test_a_release_without_its_env_file_is_refused_before_anything_runs(site):
    """A typo in the release name: exit 2 naming the env file; no check, backup or instance ran."""
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v2-typo")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "env_file of v2-typo" in result.stdout
    assert "preflight" not in result.stdout
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())


def test_dry_run_prints_the_plan_and_touches_nothing(site):
    """--dry-run names every step and instance, runs nothing, exits 0."""
    site.write_release("v2")
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v2", "--dry-run")
    assert result.returncode == 0, result.stderr
    for step in (
        "check --deploy",
        "migrate --noinput",
        "check_dependencies",
        "pg_dump",
    ):
        assert step in result.stdout
    assert "web1: stop v1, start v2" in result.stdout
    assert f"127.0.0.1:{site.ports['web2']}/stability/health/ready" in result.stdout
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())


# Commands mode: the start, stop and readiness commands are a small control script,
# as systemctl or docker would be; it starts the same uvicorn server, detached.
INSTANCECTL = """
import os, signal, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path

SERVER = {server!r}
run, action, *args = sys.argv[1:]
run = Path(run)


def alive(pid):
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{{pid}}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


if action == "start":
    name, port = args
    with open(run / f"{{name}}.log", "ab") as log:
        process = subprocess.Popen(
            SERVER + ["--port", port], stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True,
        )
    (run / f"{{name}}.pid").write_text(f"{{process.pid}}\\n")
    process.returncode = 0  # it outlives this script on purpose
elif action == "stop":
    pid = int((run / f"{{args[0]}}.pid").read_text())
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    sys.exit(1 if alive(pid) else 0)
elif action == "ready":
    url = f"http://127.0.0.1:{{args[0]}}/stability/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(response.status)
    except urllib.error.HTTPError as exc:
        print(exc.code)
        sys.exit(1)
    except OSError as exc:
        print(f"no answer: {{exc}}")
        sys.exit(1)
elif action == "note":
    with open(run / "notes", "a") as notes:
        notes.write(" ".join(args) + "\\n")
"""


def test_commands_mode_rolls_back_on_timeout_then_rolls_out(site):
    """start/stop/ready commands: a release never ready in time is rolled back (exit 1), a good one rolls out."""
    ctl = site.tmp / "instancectl.py"
    ctl.write_text(INSTANCECTL.format(server=shlex.split(_server_command())))
    prefix = shlex.join([sys.executable, str(ctl), str(site.run_dir)])
    config = site.config.read_text()
    config = config[config.index("[[instances]]") :]  # same instances
    manage = shlex.join([sys.executable, str(ROOT / "example_project" / "manage.py")])
    site.config.write_text(
        f"""
[rollout]
mode = "commands"
cwd = {json.dumps(str(ROOT))}
env_file = {json.dumps(str(site.tmp / "releases" / "{release}.env"))}
manage = {json.dumps(manage)}
start = [{json.dumps(prefix + " start {instance} {port}")}]
stop = [{json.dumps(prefix + " stop {instance}")}]
ready_command = {json.dumps(prefix + " ready {port}")}
after_ready = [{json.dumps(prefix + " note {instance} {release}")}]
ready_timeout = 10
dependency_wait = 30
state_file = {json.dumps(str(site.state))}

{config}"""
    )
    site.write_release("v3", UVICORN_APP="example_project.no_such_module:application")
    web2 = site.pid("web2")
    broken = site.rollout("v3", "--no-backup")
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1, output
    # The process exit is not seen in this mode: the readiness wait runs out.
    assert "not ready within 10 s; last readiness answer: exit 1 no answer" in output
    assert "rolled back: web1 runs v1 again" in output
    assert _request(site.ports["web1"], "/")[1]["X-App-Version"] == "v1"
    assert site.pid("web2") == web2

    site.write_release("v2")
    good = site.rollout("v2", "--no-backup")
    assert good.returncode == 0, good.stdout + good.stderr
    for port in site.ports.values():
        assert _request(port, "/")[1]["X-App-Version"] == "v2"
    notes = (site.run_dir / "notes").read_text().splitlines()
    assert notes == ["web1 v1", "web1 v2", "web2 v2"]
