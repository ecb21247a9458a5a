"""The soak's own little production: throwaway PostgreSQL and Redis, three uvicorn workers.

Everything runs in one temporary directory on free loopback ports, started by
:class:`Cluster` and stopped by it whatever happened: the machine's shared
PostgreSQL and Redis are never touched. The servers are the fault-injection
fixtures' classes (``tests.fixtures``); the workers run the example project
with the same uvicorn command line as the realtime tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import redis

from tests.fixtures.postgres_server import PG_BIN, PostgresServer, _directory, _user
from tests.fixtures.redis_server import RedisServer
from tests.realtime.servers import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
POOL_MIN, POOL_MAX = 1, 4
RATE_LIMIT = 20  # requests per second per client IP, for every worker together
STARTUP_TIMEOUT = 60.0
USERS = 12
CSRF = "soakcsrfsecretsoakcsrfsecret0123"  # 32 chars: Django's unmasked secret form


class MissingCapability(RuntimeError):
    """Something the soak needs is not on this machine (reported, never skipped silently)."""


class Worker:
    """One uvicorn process of the example project on a fixed port; restartable there."""

    def __init__(self, index: int, port: int, env: dict[str, str], log: Path) -> None:
        self.index = index
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                uvicorn_command("example_project.asgi:application", self.port),
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.index} exited:\n{self.tail()}")
            try:
                url = f"{self.base}/stability/health/live"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker {self.index} did not answer:\n{self.tail()}"
                )
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer would; safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def rss(self) -> int | None:
        """Resident set size in bytes, from /proc (None when not running)."""
        if self.process is None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Cluster:
    """PostgreSQL 15 + redis-server + the migrated example project on three workers."""

    def __init__(self) -> None:
        redis_binary = shutil.which("redis-server")
        if redis_binary is None:
            raise MissingCapability("redis-server is not on PATH")
        if not (PG_BIN / "initdb").exists():
            raise MissingCapability(f"initdb is not in {PG_BIN}")
        self.tmp = Path(tempfile.mkdtemp(prefix="stability-soak-"))
        user = _user()
        self.pg = PostgresServer(_directory(user), user)
        self.redis = RedisServer(redis_binary, self.tmp)
        self.workers: list[Worker] = []
        self.sessions: list[str] = []
        self.staff = ""
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.pg.init()
        self.pg.start()
        self.redis.start()
        self.env = self._environment()
        self._manage("migrate", "--noinput", "-v", "0")
        seeded = json.loads(self._python("-m", "tests.system._seed", str(USERS)))
        self.sessions, self.staff = seeded["users"], seeded["staff"]
        from tests.fixtures.redis_server import free_port

        for n in range(WORKERS):
            log = self.tmp / f"worker-{n}.log"
            self.workers.append(Worker(n, free_port(), self.env, log))
        for worker in self.workers:
            worker.start()

    def _environment(self) -> dict[str, str]:
        """The workers' environment: every knob is one of the example project's variables."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DRAIN_SECONDS": "0",  # stopped with SIGTERM: no drain window
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.system.settings",
            "DEBUG": "0",
            "HTTPS": "0",
            "SECRET_KEY": "soak-" + os.urandom(16).hex(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg.port}/postgres",
            "DB_POOL_MIN": str(POOL_MIN),
            "DB_POOL_MAX": str(POOL_MAX),
            # A request waits at most 2 s for a connection: with the default 10 s a
            # 5 s outage fails too few requests, too late, to open the breaker.
            "DB_POOL_TIMEOUT": "2",
            "DB_CONNECT_TIMEOUT": "2",
            "REDIS_URL": self.redis.url,
            "RATELIMIT": f"{RATE_LIMIT}/s",
            # Each virtual client sends its own X-Forwarded-For: one rate-limit bucket each.
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",
        }

    def _python(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode:
            raise RuntimeError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _manage(self, *args: str) -> str:
        return self._python("example_project/manage.py", *args)

    # Faults -----------------------------------------------------------------

    def redis_reset(self) -> None:
        """``CLIENT KILL TYPE normal``: every client connection reset, no data lost."""
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.client_kill_filter(_type="normal", skipme=True)
        finally:
            client.close()

    def pg_stop(self) -> None:
        """``pg_ctl stop -m fast``: clients are disconnected, the server exits cleanly."""
        self.pg._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.pg.data), "-m", "fast",
            "-w", "-t", "30", "stop",
        )  # fmt: skip
        self.pg.running = False

    def pg_start(self) -> None:
        self.pg.start()

    def client_connections(self) -> int:
        """Client backends on the throwaway server, not counting this query's own."""
        with psycopg.connect(self.pg.url.replace("postgres://", "postgresql://")) as db:
            row = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                " AND pid <> pg_backend_pid()"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def worker_env(self) -> dict[str, Any]:
        return dict(self.env)

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        if keep := os.environ.get(
            "STABILITY_SOAK_LOGS"
        ):  # the workers' logs, to read after a failure
            Path(keep).mkdir(parents=True, exist_ok=True)
            for log in [*self.tmp.glob("*.log"), self.pg.directory / "postgres.log"]:
                if log.exists():
                    shutil.copy(log, Path(keep) / log.name)
        if self.redis.process is not None:
            self.redis.process.send_signal(signal.SIGCONT)
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.pg.directory, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
