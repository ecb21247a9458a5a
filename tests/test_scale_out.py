"""Three example-project workers on one PostgreSQL and one Redis enforce one rate limit, and one metrics view."""

from __future__ import annotations

import http.client
import json
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql

from tests import services
from tests.exposition import value
from tests.fixtures.redis_server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
LIMIT = 30
STARTUP_TIMEOUT = 60.0  # seconds for all workers to answer
REQUEST_TIMEOUT = 10.0


def _admin_url(database: str) -> str:
    base = services.POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


@pytest.fixture
def database() -> Iterator[str]:
    """A throwaway PostgreSQL database for the cluster, dropped afterwards."""
    name = f"stability_scaleout_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(services.POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _admin_url(name)
    finally:
        with psycopg.connect(services.POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


class Worker:
    """One uvicorn process serving the example project on a loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "example_project.asgi:application",
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--no-access-log", "--lifespan", "off",
                    # The app, not uvicorn, decides whom to believe (TRUSTED_PROXIES).
                    "--no-proxy-headers",
                ],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip

    def request(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
        )
        try:
            payload = None if body is None else json.dumps(body).encode()
            if payload is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_until_up(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            try:
                self.request("GET", "/stability/metrics")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"worker did not answer:\n{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except (
                subprocess.TimeoutExpired
            ):  # pragma: no cover - only if uvicorn hangs
                self.process.kill()
                self.process.wait()


@pytest.fixture
def cluster(database: str, tmp_path: Path) -> Iterator[list[Worker]]:
    """The example project migrated onto ``database``, served by three workers sharing Redis."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = services.migrated_example(
        database,
        metrics_dir,
        REDIS_URL=services.REDIS_URL,
        RATELIMIT=f"{LIMIT}/m",
        # The test plays the proxy: each run's client is an address of its own.
        TRUSTED_PROXIES="127.0.0.1/32",
    )
    workers: list[Worker] = []
    try:
        for index in range(WORKERS):
            workers.append(Worker(env, tmp_path / f"worker{index}.log"))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for worker in workers:
            worker.wait_until_up(deadline)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def clients() -> Iterator[tuple[str, str]]:
    """Two benchmark-range addresses for this run; their Redis counters are removed afterwards."""
    addresses = (f"198.18.{secrets.randbelow(256)}.{n}" for n in (1, 2))
    pair = (next(addresses), next(addresses))
    yield pair
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        for address in pair:
            keys = list(client.scan_iter(match=f"stability:rl:*:{address}"))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


def test_the_rate_limit_is_one_limit_for_the_whole_cluster(cluster, clients):
    """30/m over three workers: 30 requests spread across them pass, the 31st on any worker gets 429."""
    forwarded = {"X-Forwarded-For": clients[0]}
    status, _, _ = cluster[0].request(
        "POST", "/api/notes/", {"title": "shared"}, **forwarded
    )
    assert status == 201
    seen = []
    for n in range(LIMIT - 1):
        status, headers, body = cluster[n % WORKERS].request(
            "GET", "/api/notes/", **forwarded
        )
        assert status == 200, body
        seen.append("shared" in body.decode())
        remaining = int(headers["RateLimit-Remaining"])
    assert all(seen)  # every worker reads the one PostgreSQL database
    assert remaining == 0
    for worker in cluster:
        status, headers, body = worker.request("GET", "/api/notes/", **forwarded)
        assert status == 429
        assert headers["Content-Type"] == "application/problem+json"
        assert 1 <= int(headers["Retry-After"]) <= 60
        assert headers["RateLimit-Limit"] == str(LIMIT)
    # Another client is not affected by this one's limit.
    other = {"X-Forwarded-For": clients[1]}
    assert cluster[1].request("GET", "/api/notes/", **other)[0] == 200

    status, _, text = cluster[2].request("GET", "/stability/metrics")
    assert status == 200
    exposition = text.decode()
    # One scrape of one worker reports the three workers' requests.
    ok = {"method": "GET", "route": "api/notes/", "status": "200"}
    # 29 GETs of the first client and 1 of the other, whichever worker served them.
    assert value(exposition, "stability_http_requests_total", **ok) == LIMIT
    labels = {"group": "global", "reason": "limited"}
    assert value(exposition, "stability_ratelimited_total", **labels) == WORKERS
