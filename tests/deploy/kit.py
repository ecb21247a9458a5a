"""The deployment kit's topology on loopback, without Docker.

What ``deploy/compose.yaml`` runs, as processes: a database of its own on the
suite's PostgreSQL, a throwaway ``redis-server``, ``collectstatic`` and
``migrate`` as the image and the ``migrate`` service run them, app instances
(each one ``gunicorn --config deploy/gunicorn.conf.py`` with several uvicorn
workers, as one container is) and nginx with ``deploy/nginx.conf``, its
upstream pointed at the instances' loopback ports instead of compose's ``app``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MANAGE = ROOT / "example_project" / "manage.py"
WAIT = (
    90.0  # bound of every start-up wait: a loaded CI machine is slow, never this slow
)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


def gunicorn_binary() -> str:
    return str(Path(sys.executable).with_name("gunicorn"))


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (gunicorn's workers), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def get(
    url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (an HTTP error status is an answer too)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until(predicate, what: str, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)


@dataclass
class Instance:
    """One app container: a gunicorn master with the kit's config and its workers."""

    name: str
    env: dict[str, str]
    log: Path
    app: str = "example_project.asgi:application"
    options: tuple[str, ...] = ()  # more gunicorn options, such as another worker class
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **env: str) -> None:
        assert self.process is None, f"{self.name} is running"
        self.env.update(env)
        metrics = Path(self.env["PROMETHEUS_MULTIPROC_DIR"])
        metrics.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    gunicorn_binary(),
                    "--config", str(DEPLOY / "gunicorn.conf.py"),
                    # The kit binds 0.0.0.0 in its container; here loopback only.
                    "--bind", f"127.0.0.1:{self.port}",
                    *self.options,
                    self.app,
                ],
                cwd=ROOT, env={**self.env, "PORT": str(self.port)},
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def workers(self) -> set[int]:
        assert self.process is not None
        return children(self.process.pid)

    def ready(self) -> bool:
        try:
            return get(f"{self.url}/stability/health/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def wait_ready(self) -> None:
        want = int(self.env["WEB_CONCURRENCY"])

        def up() -> bool:
            assert self.process is not None and self.process.poll() is None, self.tail()
            return len(self.workers()) == want and self.ready()

        wait_until(up, f"{self.name} ready with {want} workers")

    def stop(self) -> None:
        """SIGTERM, as a container stop; gunicorn's grace bounds it, then SIGKILL."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(int(self.env["GRACEFUL_TIMEOUT"]) + 15)
            except (
                subprocess.TimeoutExpired
            ):  # pragma: no cover - gunicorn kills its workers first
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class Nginx:
    """nginx with deploy/nginx.conf, listening on a loopback port, in front of the instances."""

    def __init__(self, directory: Path, ports: list[int]) -> None:
        self.directory = directory
        self.port = free_port()
        upstream = "".join(
            f"server 127.0.0.1:{port} max_fails=0;\n        " for port in ports
        )
        text = (DEPLOY / "nginx.conf").read_text()
        replacements = [
            (r"server app:8000 max_fails=0;\n\s*", upstream),
            (
                r"listen 80 default_server;",
                f"listen 127.0.0.1:{self.port} default_server;",
            ),
            (r"pid /tmp/nginx.pid;", f"pid {directory / 'nginx.pid'};"),
            (
                r"error_log /dev/stderr warn;",
                f"error_log {directory / 'error.log'} warn;",
            ),
        ]
        for pattern, replacement in replacements:
            text, count = re.subn(pattern, replacement, text)
            assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
        # Temporary files in the test's directory, not the system's.
        text = text.replace(
            "http {\n",
            "http {\n"
            + "".join(
                f"    {kind}_temp_path {directory / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
            1,
        )
        self.config = directory / "nginx.conf"
        self.config.write_text(text)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = nginx_binary()
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config), "-p", str(self.directory), "-e",
             str(self.directory / "error.log"), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answering() -> bool:
            assert self.process is not None and self.process.poll() is None, (
                self.directory / "error.log"
            ).read_text(errors="replace")
            try:
                return get(f"{self.url}/stability/health/live", timeout=2)[0] == 200
            except OSError:
                return False

        wait_until(answering, "nginx answering")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # fast shutdown
            self.process.wait(15)
        self.process = None


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """``python example_project/manage.py ARGS`` with the kit's environment; its stdout."""
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


@dataclass
class Load:
    """Steady GETs through nginx from a few threads, until stopped (bounded in count and time)."""

    base: str
    paths: tuple[str, ...]
    stop: threading.Event = field(default_factory=threading.Event)
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        deadline = time.monotonic() + 300
        n = 0
        while not self.stop.is_set() and time.monotonic() < deadline and n < 20_000:
            path = self.paths[n % len(self.paths)]
            n += 1
            try:
                status = get(self.base + path, timeout=30)[0]
            except OSError as error:
                failure = f"{path}: {error!r}"
            else:
                failure = f"{path}: {status}" if status >= 400 else ""
            with self.lock:
                self.answered += 1
                if failure:
                    self.failures.append(failure)
            time.sleep(0.05)  # 4 threads: well under the kit's RATELIMIT (100/s)
