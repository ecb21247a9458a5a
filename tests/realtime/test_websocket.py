"""ResilientConsumer through Channels' WebsocketCommunicator, on both layer/engine backends."""

from __future__ import annotations

from django.test import override_settings

from django_stability.realtime import abroadcast
from django_stability.state import Engine
from tests.realtime.conftest import Client, User


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


@override_settings(STABILITY_APP_VERSION="9.9.9")
async def test_subscribed_tells_the_servers_version(
    backend: Engine, channel: str
) -> None:
    """An idle page learns of a deploy when its connection comes back: subscribed carries the version."""
    client = Client(channel, User())
    subscribed = await client.subscribe()
    assert subscribed["version"] == "9.9.9"
    await client.comm.disconnect()
