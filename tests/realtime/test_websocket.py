"""ResilientConsumer through Channels' WebsocketCommunicator, on both layer/engine backends."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import path

from django_stability.realtime import ResilientConsumer, abroadcast
from django_stability.signals import shutdown_started
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.realtime.conftest import T0, User, ws_app

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


async def test_live_events_arrive_in_order(backend: Engine, channel: str) -> None:
    """A subscriber receives each event broadcast after it subscribed, in order, with ids."""
    client = Client(channel, User())
    await client.subscribe()
    ids = [await abroadcast(channel, {"n": n}) for n in range(3)]
    got = [await client.recv() for _ in range(3)]
    assert [m["data"] for m in got] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [m["id"] for m in got] == ids
    assert all(m["type"] == "event" and m["channel"] == channel for m in got)
    await client.comm.disconnect()


async def test_resuming_replays_what_was_missed_then_live(
    backend: Engine, channel: str
) -> None:
    """Reconnecting with last_event_id replays the missed events once, in order, then live ones."""
    first = await abroadcast(channel, {"n": 0})
    for n in range(1, 4):
        await abroadcast(channel, {"n": n})
    client = Client(channel, User(), f"last_event_id={first}")
    await client.connect()
    replayed = [await client.recv() for _ in range(3)]
    assert [m["data"]["n"] for m in replayed] == [1, 2, 3]
    subscribed = await client.recv()
    assert subscribed["type"] == "subscribed"
    assert subscribed["last_event_id"] == replayed[-1]["id"]
    await abroadcast(channel, {"n": 4})
    assert (await client.recv())["data"] == {"n": 4}
    assert await client.comm.receive_nothing(timeout=0.05)
    await client.comm.disconnect()


@override_settings(STABILITY_REALTIME={"REPLAY_MAX_EVENTS": 2})
async def test_an_id_older_than_the_log_gets_a_reset(
    backend: Engine, channel: str
) -> None:
    """When the log no longer holds everything after the client's id, it gets a reset, not a gap.

    The reset names the oldest id the log still follows on from, and what the
    log holds comes after it: a client that cannot reload still replays it.
    """
    ids = [await abroadcast(channel, {"n": n}) for n in range(5)]
    client = Client(channel, User(), f"last_event_id={ids[0]}")
    await client.connect()
    reset = await client.recv()
    assert reset == {"type": "reset", "channel": channel, "last_event_id": ids[2]}
    kept = [await client.recv() for _ in range(2)]
    assert [(m["id"], m["data"]) for m in kept] == [
        (ids[3], {"n": 3}),
        (ids[4], {"n": 4}),
    ]
    assert (await client.recv())["type"] == "subscribed"
    await client.comm.disconnect()


async def test_a_wakeup_the_layer_drops_is_caught_up(
    backend: Engine, channel: str
) -> None:
    """An event whose wake-up never arrives is delivered with the next one, not lost."""
    client = Client(channel, User())
    await client.subscribe()
    from django_stability.realtime import _broadcast
    from django_stability.realtime._log import APPEND, log_keys

    # Append without waking anyone: what a dropped group message looks like. It is
    # stamped with the wall clock abroadcast() uses: stamped with T0 (the suite's
    # start), it was older than REPLAY_TTL in a suite running over 10 minutes, and
    # the next append trimmed it.
    now = time.time()
    await backend.arun(
        APPEND, log_keys(channel), _broadcast._append_args({"n": 0}, now)
    )
    await abroadcast(channel, {"n": 1})
    got = [await client.recv() for _ in range(2)]
    assert [m["data"] for m in got] == [{"n": 0}, {"n": 1}]
    await client.comm.disconnect()


async def test_a_heartbeat_polls_the_log(backend: Engine, channel: str) -> None:
    """Without any wake-up, the next heartbeat delivers what the log gained."""
    from django_stability.realtime import _broadcast
    from django_stability.realtime._log import APPEND, log_keys

    client = Client(channel, User())
    await client.subscribe()
    await backend.arun(APPEND, log_keys(channel), _broadcast._append_args({"n": 7}, T0))
    client.ticks.put_nowait(None)
    assert await client.recv() == {"type": "heartbeat"}
    assert (await client.recv())["data"] == {"n": 7}
    await client.comm.disconnect()


async def test_two_silent_heartbeats_drop_the_client(
    backend: Engine, channel: str
) -> None:
    """A client answering no heartbeat is closed with 4408 at the third beat; answering keeps it."""
    client = Client(channel, User())
    await client.subscribe()
    client.ticks.put_nowait(None)
    assert await client.recv() == {"type": "heartbeat"}
    await client.comm.send_json_to({"type": "heartbeat"})
    # Frames are handled in order: once this one's error is back, so is the reply.
    await client.comm.send_json_to({"type": "barrier"})
    assert (await client.recv())["error"] == "unknown_type"
    for _ in range(2):
        client.ticks.put_nowait(None)
        assert await client.recv() == {"type": "heartbeat"}
    client.ticks.put_nowait(None)
    assert await client.closed_with() == 4408


async def test_anonymous_users_are_closed_with_4401(
    backend: Engine, channel: str
) -> None:
    """An unauthenticated connection is told why and closed with 4401."""
    for user in (User(authenticated=False), None):
        client = Client(channel, user)
        await client.connect()
        assert (await client.recv())["error"] == "unauthenticated"
        assert await client.closed_with() == 4401


async def test_a_forbidden_channel_is_closed_with_4403(backend: Engine) -> None:
    """can_subscribe() returning False closes the connection with 4403."""
    client = Client("private.x", User())
    await client.connect()
    assert (await client.recv())["error"] == "forbidden"
    assert await client.closed_with() == 4403


@pytest.mark.parametrize(
    ("channel_name", "query"),
    [
        ("bad$name", ""),
        ("a" * 201, ""),
        ("ok", "last_event_id=abc"),
        ("ok", "last_event_id=-1"),
    ],
)
async def test_bad_input_is_closed_with_4400(
    backend: Engine, channel_name: str, query: str
) -> None:
    """A bad channel name or last_event_id gets an error message and close code 4400."""
    client = Client(channel_name, User(), query)
    await client.connect()
    message = await client.recv()
    assert message["type"] == "error" and message["error"] == "bad_request"
    assert await client.closed_with() == 4400


@override_settings(STABILITY_REALTIME={"MAX_CONNECTIONS_PER_USER": 2})
async def test_the_per_user_cap_closes_with_4429(backend: Engine, channel: str) -> None:
    """A user's third connection is refused with 4429; closing one lets a new one in."""
    user = User()
    first, second, third = (Client(channel, user) for _ in range(3))
    await first.subscribe()
    await second.subscribe()
    await third.connect()
    refusal = await third.recv()
    assert refusal["error"] == "too_many_connections" and refusal["retry_after"] > 0
    assert await third.closed_with() == 4429
    other_user = Client(channel, User())
    await other_user.subscribe()
    await first.comm.disconnect()
    fourth = Client(channel, user)
    await fourth.subscribe()
    for client in (second, other_user, fourth):
        await client.comm.disconnect()


@override_settings(STABILITY_REALTIME={"CONNECT_RATE": "2/m"})
async def test_the_connect_rate_closes_with_4429(backend: Engine, channel: str) -> None:
    """The third connection attempt within a minute is refused with connect_rate and 4429."""
    user = User()
    for _ in range(2):
        client = Client(channel, user)
        await client.subscribe()
        await client.comm.disconnect()
    client = Client(channel, user)
    await client.connect()
    refusal = await client.recv()
    assert refusal["error"] == "connect_rate" and refusal["retry_after"] >= 1
    assert await client.closed_with() == 4429


async def test_bad_frames_get_an_error_and_keep_the_connection(
    backend: Engine, channel: str
) -> None:
    """Non-JSON, binary, non-object and unknown messages each get an error; events still flow."""
    client = Client(channel, User())
    await client.subscribe()
    await client.comm.send_to(text_data="not json")
    assert (await client.recv())["error"] == "invalid_json"
    await client.comm.send_to(bytes_data=b"\x00")
    assert (await client.recv())["error"] == "invalid_message"
    await client.comm.send_json_to([1, 2])
    assert (await client.recv())["error"] == "invalid_message"
    await client.comm.send_json_to({"type": "subscribe"})
    assert (await client.recv())["error"] == "unknown_type"
    await abroadcast(channel, {"still": "alive"})
    assert (await client.recv())["data"] == {"still": "alive"}
    await client.comm.disconnect()


async def test_shutdown_started_closes_with_1012(backend: Engine, channel: str) -> None:
    """When shutdown starts, every open connection is closed with 1012 (service restart)."""
    client = Client(channel, User())
    await client.subscribe()
    await shutdown_started.asend(sender=None)
    assert await client.closed_with() == 1012
    await client.comm.disconnect()


async def test_shutdown_sent_from_another_thread_closes_too(
    backend: Engine, channel: str
) -> None:
    """A SIGTERM handler or a command thread sending shutdown_started reaches the consumer's loop."""
    client = Client(channel, User())
    await client.subscribe()
    await asyncio.to_thread(shutdown_started.send, None)
    assert await client.closed_with() == 1012
    await client.comm.disconnect()


@override_settings(STABILITY_APP_VERSION="9.9.9")
async def test_subscribed_tells_the_servers_version(
    backend: Engine, channel: str
) -> None:
    """An idle page learns of a deploy when its connection comes back: subscribed carries the version."""
    client = Client(channel, User())
    subscribed = await client.subscribe()
    assert subscribed["version"] == "9.9.9"
    await client.comm.disconnect()


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
