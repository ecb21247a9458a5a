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
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.kit import (
    MANAGE,
    ROOT,
    Instance,
    Load,
    Nginx,
    get,
    manage,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

YEAR = 31_536_000
INSTANCES = 2
WORKERS = 2  # per instance: WEB_CONCURRENCY in kit_env
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
def kit(
    kit_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kit]:
    """Two instances of the kit's gunicorn behind the kit's nginx."""
    tmp = tmp_path_factory.mktemp("topology")
    instances: list[Instance] = []
    nginx: Nginx | None = None
    try:
        session = _session(kit_env)
        for n in range(INSTANCES):
            instance = Instance(
                f"app-{n}",
                {**kit_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-{n}")},
                tmp / f"app-{n}.log",
            )
            instances.append(instance)
            instance.start()
        for instance in instances:
            instance.wait_ready()
        nginx = Nginx(tmp, [i.port for i in instances])
        nginx.start()
        yield Kit(kit_env, instances, nginx, session)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            instance.stop()


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
