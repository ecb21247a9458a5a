"""``with_health_probes()``: the probes answered before Django's request cycle, everything else untouched."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.asgi import get_asgi_application
from django.test import AsyncClient, override_settings

from django_stability.health import with_health_probes
from django_stability.health._drain import start_local_drain, stop_local_drain
from tests.health.servers import DjangoServer

urlpatterns: list[Any] = []  # a URLconf without django-stability, for one test

# ready and startup run the database check.
pytestmark = pytest.mark.django_db


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        start = messages[0]
        assert start["type"] == "http.response.start"
        self.status: int = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        self.body = b"".join(m.get("body", b"") for m in messages[1:])

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: Any, path: str, method: str = "GET", root_path: str = "", **scope: Any
) -> Answer:
    """One HTTP request through the ASGI interface, as a server makes it."""
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await (
            asyncio.Event().wait()
        )  # the client stays connected (cancelled at the end)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": root_path + path,
            "raw_path": (root_path + path).encode(),
            "root_path": root_path,
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            **scope,
        },
        receive,
        send,
    )
    return Answer(messages)


class Recorder:
    """An inner application that records what reached it and answers 204."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def django_app() -> Any:
    return get_asgi_application()


@pytest.mark.parametrize("probe", ["live", "ready", "startup"])
async def test_probes_answer_as_the_views_do(django_app: Any, probe: str) -> None:
    """Same status, JSON and cache header as Django's view of the same probe."""
    path = f"/stability/health/{probe}"
    wrapped = await call(with_health_probes(django_app), path)
    viewed = await AsyncClient().get(path)
    assert wrapped.status == viewed.status_code == 200
    assert wrapped.json()["status"] == viewed.json()["status"] == "ok"
    assert set(wrapped.json()["checks"]) == set(viewed.json()["checks"])
    assert wrapped.headers["content-type"] == "application/json"
    assert wrapped.headers["cache-control"] == "no-store"
    assert int(wrapped.headers["content-length"]) == len(wrapped.body)


async def test_probes_carry_the_correlation_id_and_app_version(django_app: Any) -> None:
    """A valid incoming ID is echoed in every configured header; a bad one is replaced."""
    app = with_health_probes(django_app)
    echoed = await call(
        app,
        "/stability/health/live",
        headers=[(b"host", b"testserver"), (b"x-request-id", b"lb-check-7")],
    )
    assert echoed.headers["x-correlation-id"] == "lb-check-7"
    assert echoed.headers["x-request-id"] == "lb-check-7"
    assert echoed.headers["x-app-version"]
    replaced = await call(
        app,
        "/stability/health/live",
        headers=[(b"host", b"testserver"), (b"x-correlation-id", b"bad id\n")],
    )
    assert replaced.headers["x-correlation-id"] != "bad id\n"
    assert len(replaced.headers["x-correlation-id"]) == 36  # a fresh UUID


async def test_the_probes_never_reach_the_application() -> None:
    """GET and HEAD of a probe are answered here; the inner application sees none of them."""
    inner = Recorder()
    app = with_health_probes(inner)
    got = await call(app, "/stability/health/ready")
    head = await call(app, "/stability/health/ready", method="HEAD")
    assert got.status == head.status == 200
    assert head.body == b""
    assert head.headers["content-length"] == str(len(got.body))
    assert inner.scopes == []


async def test_a_draining_worker_answers_503_with_retry_after(django_app: Any) -> None:
    start_local_drain()
    try:
        answer = await call(with_health_probes(django_app), "/stability/health/ready")
    finally:
        stop_local_drain()
    assert answer.status == 503
    assert answer.json()["status"] == "draining"
    assert int(answer.headers["retry-after"]) >= 1


async def test_other_methods_and_paths_go_to_the_application(django_app: Any) -> None:
    """A POST to a probe gets Django's 405 problem; other paths are served as before."""
    app = with_health_probes(django_app)
    refused = await call(app, "/stability/health/ready", method="POST")
    assert refused.status == 405
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await call(app, "/stability/version")).status == 200
    inner = Recorder()
    await call(with_health_probes(inner), "/stability/health/ready/")
    await call(with_health_probes(inner), "/stability/health/")
    assert [s["path"] for s in inner.scopes] == [
        "/stability/health/ready/",
        "/stability/health/",
    ]


async def test_other_protocols_pass_through() -> None:
    inner = Recorder()
    app = with_health_probes(inner)

    async def receive() -> dict[
        str, Any
    ]:  # pragma: no cover - the recorder never reads
        return {}

    async def send(message: dict[str, Any]) -> None:  # pragma: no cover
        pass

    await app({"type": "lifespan"}, receive, send)
    await app({"type": "websocket", "path": "/stability/health/live"}, receive, send)
    assert [s["type"] for s in inner.scopes] == ["lifespan", "websocket"]


async def test_the_server_root_path_is_honoured() -> None:
    inner = Recorder()
    app = with_health_probes(inner)
    answer = await call(app, "/stability/health/live", root_path="/site")
    assert answer.status == 200
    assert inner.scopes == []


async def test_the_probes_are_found_where_the_urlconf_mounts_them() -> None:
    """Mounted under ``ops/``, the probes are ``/ops/health/...``; ``/stability/...`` is the application's."""
    inner = Recorder()
    app = with_health_probes(inner)
    with override_settings(ROOT_URLCONF="tests.health.urls_elsewhere"):
        assert (await call(app, "/ops/health/live")).status == 200
        await call(app, "/stability/health/ready")
    assert [s["path"] for s in inner.scopes] == ["/stability/health/ready"]
    # Back on the suite's URLconf, the usual path is a probe again.
    assert (await call(app, "/stability/health/ready")).status == 200
    assert len(inner.scopes) == 1


async def test_a_urlconf_without_the_probes_leaves_every_path_to_the_application() -> (
    None
):
    inner = Recorder()
    app = with_health_probes(inner)
    with override_settings(ROOT_URLCONF="tests.health.test_asgi_probes"):
        await call(app, "/stability/health/live")
    assert [s["path"] for s in inner.scopes] == ["/stability/health/live"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DjangoServer]:
    running = DjangoServer("asgi", {"STABILITY_TEST_PROBES": "1"}, tmp_path / "log")
    try:
        yield running
    finally:
        running.stop()


def test_under_uvicorn_a_probe_by_pod_ip_is_answered(server: DjangoServer) -> None:
    """kubelet probes with the pod's IP as Host: the probe answers, Django still refuses that host elsewhere."""

    def get(path: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": "10.244.3.17:8000"})
            return connection.getresponse().status
        finally:
            connection.close()

    assert get("/stability/health/ready") == 200
    assert get("/stability/health/live") == 200
    assert get("/stability/version") == 400


@pytest.mark.parametrize("header", [b"authorization", b"cookie"])
async def test_probes_with_credentials_go_to_django(header: bytes) -> None:
    """A probe carrying Authorization or a cookie reaches the view, which can tell staff or the token."""
    inner = Recorder()
    answer = await call(
        with_health_probes(inner),
        "/stability/health/ready",
        headers=[(b"host", b"testserver"), (header, b"x")],
    )
    assert answer.status == 204
    assert len(inner.scopes) == 1
