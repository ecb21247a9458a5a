"""Fixtures for the realtime layer: an engine and a channel layer per backend, users, a driven clock."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.test import override_settings
from django.urls import path

from django_stability.realtime._sse import EventStreamConsumer
from django_stability.realtime._websocket import ResilientConsumer
from django_stability.state import Engine
from tests import services
from tests.clock import FakeClock
from tests.state.conftest import api, clock, engine, installed, redis_engine

__all__ = ["api", "clock", "engine"]

# broadcast() stamps events with the real time: the consumers' fake clocks start there.
T0 = float(int(time.time()))


class User:
    """A stand-in for ``scope["user"]``: the consumers read only ``pk`` and ``is_authenticated``."""

    def __init__(self, authenticated: bool = True) -> None:
        self.pk = uuid.uuid4().hex[:12]
        self.is_authenticated = authenticated


class Driven:
    """Consumer mixin: time comes from ``scope["clock"]``, heartbeats from ``scope["ticks"]``."""

    scope: dict[str, Any]

    def clock(self) -> float:
        return float(self.scope["clock"]())

    async def ticks(self):
        queue: asyncio.Queue[None] = self.scope["ticks"]
        while True:
            await queue.get()
            yield

    def can_subscribe(self, user: Any, channel: str) -> bool:
        return not channel.startswith("private.")


class DrivenSocket(Driven, ResilientConsumer):
    pass


class DrivenStream(Driven, EventStreamConsumer):
    async def can_subscribe(self, user: Any, channel: str) -> bool:  # type: ignore[override]
        return not channel.startswith("private.")


ws_app = URLRouter([path("ws/<str:channel>/", DrivenSocket.as_asgi())])
sse_app = URLRouter([path("sse/<str:channel>/", DrivenStream.as_asgi())])


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Memory engine + in-memory channel layer, or Redis engine + channels-redis, each namespaced."""
    fake = FakeClock(T0)
    if request.param == "memory":
        eng = Engine(clock=fake)
        layers: dict[str, Any] = {
            "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
        }
        with override_settings(CHANNEL_LAYERS=layers), installed(eng):
            yield eng
        return
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": services.REDIS_URL, "socket_timeout": None}],
                "prefix": f"stability-test-layer:{uuid.uuid4().hex}",
            },
        }
    }
    with (
        redis_engine(clock=fake) as eng,
        override_settings(CHANNEL_LAYERS=layers),
        installed(eng),
    ):
        yield eng
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        await_flush = getattr(layer, "flush", None)
        if await_flush is not None:
            from asgiref.sync import async_to_sync

            async_to_sync(await_flush)()


@pytest.fixture
def channel() -> str:
    """A channel name of this test's own."""
    return f"test.{uuid.uuid4().hex[:12]}"


TIMEOUT = 5


class Client:
    """One WebSocket client of the driven consumer, with its own heartbeat queue."""

    def __init__(self, channel: str, user: Any, query: str = "", clock: Any = None):
        suffix = f"?{query}" if query else ""
        self.comm = WebsocketCommunicator(ws_app, f"/ws/{channel}/{suffix}")
        self.comm.scope["user"] = user
        self.comm.scope["clock"] = clock or FakeClock(T0)
        self.ticks: asyncio.Queue[None] = asyncio.Queue()
        self.comm.scope["ticks"] = self.ticks

    async def connect(self) -> None:
        connected, _ = await self.comm.connect(timeout=TIMEOUT)
        assert connected

    async def recv(self) -> Any:
        return await self.comm.receive_json_from(timeout=TIMEOUT)

    async def closed_with(self) -> int:
        output = await self.comm.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.close"
        return int(output["code"])

    async def subscribe(self) -> dict[str, Any]:
        await self.connect()
        message = await self.recv()
        assert message["type"] == "subscribed"
        return message  # type: ignore[no-any-return]


class Stream:
    """One SSE request to the driven consumer; ``chunk()`` returns the next body part as text."""

    def __init__(
        self,
        channel: str,
        user: Any,
        query: str = "",
        headers: list[Any] | None = None,
        method: str = "GET",
    ):
        suffix = f"?{query}" if query else ""
        self.comm = HttpCommunicator(
            sse_app, method, f"/sse/{channel}/", headers=headers or []
        )
        self.comm.scope["query_string"] = suffix[1:].encode()
        self.comm.scope["user"] = user
        self.comm.scope["clock"] = FakeClock(T0)
        self.ticks: asyncio.Queue[None] = asyncio.Queue()
        self.comm.scope["ticks"] = self.ticks

    async def start(self) -> dict[str, Any]:
        await self.comm.send_input({"type": "http.request", "body": b""})
        start = await self.comm.receive_output(TIMEOUT)
        assert start["type"] == "http.response.start"
        return start  # type: ignore[no-any-return]

    async def chunk(self) -> str:
        body = await self.comm.receive_output(TIMEOUT)
        assert body["type"] == "http.response.body"
        return body["body"].decode()  # type: ignore[no-any-return]

    async def open(self) -> str:
        """Start the stream; return everything up to and including the ``subscribed`` event."""
        start = await self.start()
        assert start["status"] == 200
        text = ""
        while "event: subscribed" not in text:
            text += await self.chunk()
        return text

    async def close(self) -> None:
        await self.comm.send_input({"type": "http.disconnect"})
        await self.comm.wait(TIMEOUT)
