"""The deployment kit run as shipped, on loopback: static files, a rolling restart, realtime resume.

Two app instances (``gunicorn --config deploy/gunicorn.conf.py``, two uvicorn
workers each, as two containers of the compose file) behind nginx with
``deploy/nginx.conf``, on a database of their own and a throwaway Redis, after
``collectstatic`` and ``migrate`` as the image and the compose file run them.

* The page loads its hashed ``stability.js`` through nginx, cached for a year.
* Every worker of both instances is restarted (gunicorn's SIGHUP, one instance
  after the other) under steady load: no request fails. Each old worker drains
  (``DRAIN_SECONDS``) while it still serves, closes its WebSockets with 1012 and
  finishes what is in flight.
* A WebSocket subscriber open through nginx sees 1012, reconnects with its last
  event id (to whichever worker nginx picks), and ends with every event
  broadcast during the restarts, once each and in order.
* ``deploy/rollout.py`` rolls a release whose server cannot start over two
  instances of its own behind nginx: the first instance never gets ready and
  runs the previous release again, the second is never touched, and through
  nginx no request fails meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import services
from tests.deploy.kit import (
    MANAGE,
    ROOT,
    Database,
    Instance,
    Nginx,
    get,
    manage,
    nginx_binary,
    wait_until,
)
from tests.fixtures.redis_server import RedisServer, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

YEAR = 31_536_000
INSTANCES = 2
WORKERS = 2  # per instance: "several workers", as the kit's WEB_CONCURRENCY
LOAD_THREADS = 4
WAIT = 90.0


@dataclass
class Kit:
    env: dict[str, str]
    instances: list[Instance]
    nginx: Nginx
    session: str


def _session(env: dict[str, str]) -> str:
    """A logged-in session of a user of the example (the notes channel is for logged-in users)."""
    code = (
        "from importlib import import_module\n"
        "from django.conf import settings\n"
        "from django.contrib import auth\n"
        "user, _ = auth.get_user_model().objects.get_or_create(username='kit')\n"
        "store = import_module(settings.SESSION_ENGINE).SessionStore()\n"
        "store[auth.SESSION_KEY] = str(user.pk)\n"
        "store[auth.BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
        "store.create()\n"
        "print(store.session_key)\n"
    )
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    if nginx_binary() is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if services.REQUIRE:
            pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("kit")
    redis_binary = "/usr/bin/redis-server"
    redis = RedisServer(redis_binary, tmp)
    database = Database()
    instances: list[Instance] = []
    nginx: Nginx | None = None
    database.create()
    redis.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DEBUG": "0",
            "SECRET_KEY": "deploy-kit-test-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HTTPS": "0",  # TLS ends in front of nginx
            "TRUSTED_PROXIES": "127.0.0.1/32",  # nginx, as the compose subnet
            "DATABASE_URL": database.url,
            "REDIS_URL": redis.url,
            "STATIC_ROOT": str(tmp / "static"),
            "METRICS_TOKEN": "deploy-kit-test-token",
            "APP_VERSION": "v1",
            "WEB_CONCURRENCY": str(WORKERS),
            # The kit's timeline, shortened: drain 2 s, then 8 s for requests in flight.
            "DRAIN_SECONDS": "2",
            "GRACEFUL_TIMEOUT": "10",
        }
        manage(env, "collectstatic", "--noinput")  # the Dockerfile's build step
        manage(env, "migrate", "--noinput")  # the migrate service
        session = _session(env)
        for n in range(INSTANCES):
            instance = Instance(
                f"app-{n}",
                {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-{n}")},
                tmp / f"app-{n}.log",
            )
            instances.append(instance)
            instance.start()
        for instance in instances:
            instance.wait_ready()
        nginx = Nginx(tmp, [i.port for i in instances])
        nginx.start()
        yield Kit(env, instances, nginx, session)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            instance.stop()
        redis.stop()
        database.drop()


def test_the_page_loads_its_script_through_nginx_cached_for_a_year(kit: Kit) -> None:
    """collectstatic's hashed stability.js answers 200 through nginx, immutable for a year, gzipped."""
    status, _, page = get(kit.nginx.url + "/")
    assert status == 200
    found = re.search(
        rb'from "(/static/django_stability/stability\.[0-9a-f]{12}\.js)"', page
    )
    assert found, page[:2000]
    script = kit.nginx.url + found.group(1).decode()
    status, headers, body = get(script)
    assert status == 200
    assert b"export function autosave" in body
    cache = headers["Cache-Control"]
    assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache)[1]) >= YEAR  # type: ignore[index]
    status, headers, packed = get(script, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(packed) == body


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


@dataclass
class Subscriber:
    """A WebSocket client of the notes channel through nginx that resumes as stability.js does."""

    url: str
    headers: dict[str, str]
    ids: list[int] = field(default_factory=list)
    closes: list[int] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    wanted: set[int] | None = None
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def expect(self, ids: list[int]) -> None:
        self.wanted = set(ids)
        self._check()

    def _check(self) -> None:
        if self.wanted is not None and self.wanted <= set(self.ids):
            self.complete.set()

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        deadline = time.monotonic() + 300
        while not self.stop.is_set() and time.monotonic() < deadline:
            query = f"?last_event_id={self.ids[-1]}" if self.ids else ""
            try:
                async with connect(
                    self.url + query, additional_headers=self.headers, open_timeout=30
                ) as ws:
                    async for frame in ws:
                        message = json.loads(frame)
                        if message["type"] == "heartbeat":
                            await ws.send('{"type": "heartbeat"}')
                        elif message["type"] == "subscribed":
                            self.subscribed.set()
                        elif message["type"] == "event":
                            self.ids.append(message["id"])
                            self._check()
                        if self.stop.is_set():
                            break
                    self.closes.append(ws.close_code or 1006)
            except (ConnectionClosed, InvalidStatus, OSError) as error:
                self.closes.append(getattr(getattr(error, "rcvd", None), "code", 1006))
                await asyncio.sleep(0.2)


BROADCASTER = """
import os, sys, time
from django_stability.realtime import broadcast
stop = os.environ["KIT_STOP"]
for n in range(2000):
    if os.path.exists(stop):
        break
    print("event", broadcast("notes", {"n": n}), flush=True)
    time.sleep(0.2)
"""


def _restart_every_worker(instance: Instance) -> None:
    """gunicorn's rolling reload: new workers start, every old one gets SIGTERM and drains."""
    assert instance.process is not None
    old = instance.workers()
    instance.process.send_signal(signal.SIGHUP)

    def replaced() -> bool:
        now = instance.workers()
        return not (now & old) and len(now) == WORKERS and instance.ready()

    wait_until(replaced, f"{instance.name}'s workers replaced")


async def test_a_rolling_restart_under_load_fails_nothing_and_realtime_resumes(
    kit: Kit, tmp_path: Path
) -> None:
    """Restart every worker under steady load: 0 failed requests; the WebSocket sees 1012 and misses nothing."""
    load = Load(kit.nginx.url, ("/", "/api/notes/", "/stability/version"))
    threads = [threading.Thread(target=load.run) for _ in range(LOAD_THREADS)]
    origin = kit.nginx.url
    subscriber = Subscriber(
        f"ws://127.0.0.1:{kit.nginx.port}/ws/stability/events/notes/",
        {"Cookie": f"sessionid={kit.session}", "Origin": origin},
    )
    listening = asyncio.create_task(subscriber.run())
    await asyncio.wait_for(subscriber.subscribed.wait(), WAIT)
    stop = tmp_path / "stop"
    broadcaster = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, str(MANAGE), "shell", "-c", BROADCASTER],
        cwd=ROOT, env={**kit.env, "KIT_STOP": str(stop)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for thread in threads:
        thread.start()
    try:
        await asyncio.sleep(1)  # load and events flow before the first restart
        for instance in kit.instances:
            await asyncio.to_thread(_restart_every_worker, instance)
        await asyncio.sleep(1)  # and after the last
    finally:
        stop.touch()
        load.stop.set()
        for thread in threads:
            thread.join(60)
        out, err = await asyncio.to_thread(broadcaster.communicate, timeout=60)
    assert broadcaster.returncode == 0, err
    sent = [int(found) for found in re.findall(r"^event (\d+)$", out, re.MULTILINE)]
    assert len(sent) >= 10, out

    subscriber.expect(sent)
    with contextlib.suppress(TimeoutError):  # what is missing is asserted below
        await asyncio.wait_for(subscriber.complete.wait(), WAIT)
    subscriber.stop.set()
    listening.cancel()

    print(f"{load.answered} requests, {len(sent)} events, closes {subscriber.closes}")
    assert load.answered > 100, load.answered
    assert load.failures == [], load.failures[:20]
    assert 1012 in subscriber.closes, subscriber.closes
    assert subscriber.ids == sent, (
        f"missing {sorted(set(sent) - set(subscriber.ids))}, "
        f"duplicates {len(subscriber.ids) - len(set(subscriber.ids))}"
    )
    for instance in kit.instances:
        assert "Traceback" not in instance.tail(), instance.tail()


ROLLOUT = ROOT / "deploy" / "rollout.py"


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
    kit: Kit, tmp_path: Path
) -> None:
    """Release v2 never gets ready on web1: rollout.py starts v1 there again, web2 is untouched, nothing fails."""
    releases, env_files, run_dir = (
        tmp_path / "releases",
        tmp_path / "env",
        tmp_path / "run",
    )
    env_files.mkdir()
    ports = {"web1": free_port(), "web2": free_port()}
    base = {k: v for k, v in kit.env.items() if k not in ("PYTHONPATH", "PATH")}
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
