"""One connection's ASGI loop: a server error closes it with 1011, a client that takes nothing is dropped."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import path
from prometheus_client import REGISTRY

from django_stability.realtime import ResilientConsumer, abroadcast
from django_stability.realtime._connection import header, query_param
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.realtime.conftest import T0, Client, User, ws_app


def test_headers_and_query_parameters_are_read_from_the_scope() -> None:
    """The first header of a name (any case), the last value of a query parameter."""
    scope = {
        "headers": [(b"Last-Event-ID", b"7"), (b"last-event-id", b"8")],
        "query_string": b"last_event_id=1&last_event_id=2&empty=",
    }
    assert header(scope, b"last-event-id") == "7"
    assert header(scope, b"origin") is None
    assert query_param(scope, "last_event_id") == "2"
    assert query_param(scope, "empty") is None
    assert query_param({}, "last_event_id") is None


class _FailsOnMessage(ResilientConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug of the server's")


@override_settings(STABILITY_REALTIME={"CHANNELS": {"*": "authenticated"}})
async def test_a_consumer_failing_while_open_closes_with_1011(
    backend: Engine, channel: str
) -> None:
    """A server error on an open connection closes it with 1011 instead of escaping as an ASGI exception."""
    app = URLRouter([path("ws/<str:channel>/", _FailsOnMessage.as_asgi())])
    comm = WebsocketCommunicator(app, f"/ws/{channel}/")
    comm.scope["user"] = User()
    assert (await comm.connect(timeout=5))[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "subscribed"
    await comm.send_json_to({"type": "heartbeat"})
    assert await comm.receive_output(5) == {"type": "websocket.close", "code": 1011}
    await comm.wait(5)  # the application ended without raising


def dropped() -> float:
    sample = REGISTRY.get_sample_value(
        "stability_realtime_dropped_slow_total", {"transport": "websocket"}
    )
    return sample or 0.0


@override_settings(
    STABILITY_REALTIME={"SEND_TIMEOUT": 0.1, "MAX_CONNECTIONS_PER_USER": 1}
)
async def test_a_client_that_takes_nothing_is_dropped_after_send_timeout(
    backend: Engine, channel: str
) -> None:
    """A send not taken within SEND_TIMEOUT ends the connection with 4408 and frees its slot at once."""
    user, before = User(), dropped()
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    subscribed = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] != "websocket.send":
            return
        if subscribed.is_set():
            await asyncio.Event().wait()  # the client never takes the event
        subscribed.set()  # the first frame is "subscribed"

    scope = {
        "type": "websocket",
        "path": f"/ws/{channel}/",
        "query_string": b"",
        "headers": [],
        "user": user,
        "clock": FakeClock(T0),
        "ticks": asyncio.Queue(),
    }
    await incoming.put({"type": "websocket.connect"})
    task = asyncio.create_task(ws_app(scope, incoming.get, send))
    await asyncio.wait_for(subscribed.wait(), 5)
    await abroadcast(channel, {"n": 1})
    await asyncio.wait_for(task, 5)
    assert sent[-1] == {"type": "websocket.close", "code": 4408}
    assert dropped() == before + 1
    await Client(channel, user).subscribe()  # its one slot is free again
