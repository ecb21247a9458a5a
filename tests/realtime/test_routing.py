"""The package's public names, and the consumers as routed by django_stability.realtime.routing with their default hooks."""

from __future__ import annotations

from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings

import django_stability.realtime as realtime
from django_stability.realtime import routing
from django_stability.realtime.routing import http_urlpatterns, websocket_urlpatterns
from django_stability.state import Engine
from tests.realtime.conftest import User

ws_app = URLRouter(websocket_urlpatterns)
sse_app = URLRouter(http_urlpatterns)


async def recv(comm: WebsocketCommunicator) -> Any:
    return await comm.receive_json_from(timeout=5)


@override_settings(
    STABILITY_REALTIME={"HEARTBEAT": 0.05, "CHANNELS": {"*": "authenticated"}}
)
async def test_heartbeats_come_every_heartbeat_seconds(
    backend: Engine, channel: str
) -> None:
    """With the default ticks(), a heartbeat arrives after HEARTBEAT seconds, and again."""
    comm = WebsocketCommunicator(ws_app, f"/ws/stability/events/{channel}/")
    comm.scope["user"] = User()
    await comm.connect(timeout=5)
    subscribed = await recv(comm)
    assert subscribed["heartbeat"] == 0.05
    for _ in range(2):
        assert await recv(comm) == {"type": "heartbeat"}
        await comm.send_json_to({"type": "heartbeat"})
    await comm.disconnect()


@override_settings(
    STABILITY_REALTIME={"HEARTBEAT": 0.05, "CHANNELS": {"*": "authenticated"}}
)
async def test_sse_keep_alives_come_every_heartbeat_seconds(
    backend: Engine, channel: str
) -> None:
    """The SSE stream, routed at stability/events/<channel>/, sends keep-alive comments on its own."""
    comm = HttpCommunicator(sse_app, "GET", f"/stability/events/{channel}/")
    comm.scope["user"] = User()
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(5))["status"] == 200
    text = ""
    while ": keep-alive" not in text:
        text += (await comm.receive_output(5))["body"].decode()
    assert "event: subscribed" in text
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(5)


def test_the_public_names_and_routes() -> None:
    """The package exports the consumers lazily, and the routes match the documented paths."""
    assert realtime.ResilientConsumer.__name__ == "ResilientConsumer"
    assert realtime.EventStreamConsumer.__name__ == "EventStreamConsumer"
    with pytest.raises(AttributeError):
        _ = realtime.Nope
    ws = routing.websocket_urlpatterns[0].pattern.match("ws/stability/events/notes:1/")
    sse = routing.http_urlpatterns[0].pattern.match("stability/events/notes:1/")
    assert ws is not None and ws[2] == {"channel": "notes:1"}
    assert sse is not None and sse[2] == {"channel": "notes:1"}
