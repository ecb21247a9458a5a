"""The per-process hub: one group membership per process and channel, wake-ups fanned out locally.

Delivery to a subscriber of another process is in ``test_multiprocess.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest
from channels.layers import get_channel_layer

from django_stability.realtime import _broadcast, abroadcast
from django_stability.realtime._hub import REFRESH, group_name, hub_for
from django_stability.realtime._log import APPEND, encode_event, log_keys
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.realtime.conftest import Client, User


async def members(group: str) -> int:
    """How many layer channels the group holds, read from the layer's own storage."""
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # the in-memory layer
        return len(layer.groups.get(group, {}))
    conn = layer.connection(layer.consistent_hash(group))
    return int(await conn.zcard(layer._group_key(group)))


async def test_local_subscribers_share_one_group_membership(
    backend: Engine, channel: str
) -> None:
    """Three subscribers in one process: the group holds one member, and each gets every event."""
    clients = [Client(channel, User()) for _ in range(3)]
    for client in clients:
        await client.subscribe()
    assert await members(group_name(channel)) == 1
    ids = [await abroadcast(channel, {"n": n}) for n in range(2)]
    for client in clients:
        got = [await client.recv() for _ in range(2)]
        assert [(m["id"], m["data"]) for m in got] == [
            (ids[0], {"n": 0}),
            (ids[1], {"n": 1}),
        ]
    for client in clients[:2]:
        await client.comm.disconnect()
    assert await members(group_name(channel)) == 1  # one subscriber is still here
    await abroadcast(channel, {"n": 2})
    assert (await clients[2].recv())["data"] == {"n": 2}
    await clients[2].comm.disconnect()
    assert await members(group_name(channel)) == 0  # the last one took it away
    assert hub_for(get_channel_layer()).reader is None


async def test_an_event_too_large_to_ride_along_is_read_from_the_log(
    backend: Engine, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the wake-up carries no event, the subscribers read it from the log, each once."""
    monkeypatch.setattr(_broadcast, "CARRY_LIMIT", 10)
    clients = [Client(channel, User()) for _ in range(2)]
    for client in clients:
        await client.subscribe()
    big = {"text": "x" * 100}
    eid = await abroadcast(channel, big)
    for client in clients:
        message = await client.recv()
        assert (message["id"], message["data"]) == (eid, big)
    await abroadcast(channel, {"n": 1})
    for client in clients:  # the next message is the next event: no duplicate
        assert (await client.recv())["data"] == {"n": 1}
        await client.comm.disconnect()


async def test_a_wakeup_during_the_replay_is_delivered_once_after_it(
    backend: Engine, channel: str
) -> None:
    """A wake-up handed over while a joining subscriber reads its replay sends nothing twice.

    The subscriber resumes before event 1; event 1's wake-up reaches the hub
    just after the subscriber registered with it, before its replay is read.
    It gets event 1 once, in the replay, then ``subscribed``, then event 2.
    (With the in-memory layer the replay may be read before the hand-over:
    the outcome must be the same.)
    """
    before = await abroadcast(channel, {"n": 0})
    first = await abroadcast(channel, {"n": 1})
    client = Client(channel, User(), query=f"last_event_id={before}")
    connecting = asyncio.create_task(client.connect())
    hub = hub_for(get_channel_layer())
    group = group_name(channel)
    for _ in range(10_000):  # let the consumer run until it registers with the hub
        if hub.members.get(group):
            break
        await asyncio.sleep(0)
    woken = hub.dispatch(_broadcast.wakeup(channel, first, encode_event({"n": 1})))
    assert woken == 1
    await connecting
    got = [await client.recv() for _ in range(2)]
    assert [(m["type"], m.get("id")) for m in got] == [
        ("event", first),
        ("subscribed", None),
    ]
    assert got[1]["last_event_id"] == first
    second = await abroadcast(channel, {"n": 2})
    message = await client.recv()  # the next one is the next event: no duplicate
    assert (message["id"], message["data"]) == (second, {"n": 2})
    await client.comm.disconnect()


async def test_a_wakeup_that_names_no_group_still_wakes_the_subscriber(
    backend: Engine, channel: str
) -> None:
    """A wake-up of the earlier shape (``type`` and ``id`` only) reaches the subscriber."""
    client = Client(channel, User())
    await client.subscribe()
    args = _broadcast._append_args({"n": 1}, time.time())
    eid = await backend.arun(APPEND, log_keys(channel), args)
    hub = hub_for(get_channel_layer())
    assert hub.dispatch({"type": "stability.wakeup", "id": eid}) == 1
    assert hub.dispatch({"type": "something.else", "id": eid}) == 0
    message = await client.recv()
    assert (message["id"], message["data"]) == (eid, {"n": 1})
    await client.comm.disconnect()


async def test_the_membership_is_added_again_before_the_layer_forgets_it(
    backend: Engine, channel: str
) -> None:
    """After REFRESH seconds a heartbeat adds the process's membership again.

    The layer dropping the membership (what ``group_expiry`` does) costs the
    next event a heartbeat's delay; once re-added, events arrive live again.
    """
    layer = get_channel_layer()
    hub = hub_for(layer)
    clock = FakeClock(0.0)
    hub.clock = clock
    group = group_name(channel)
    client = Client(channel, User())
    await client.subscribe()
    await layer.group_discard(group, hub.channel_name)  # the layer forgot it
    first = await abroadcast(channel, {"n": 1})
    clock.now += REFRESH
    client.ticks.put_nowait(None)
    assert (await client.recv())["type"] == "heartbeat"
    assert (await client.recv())["id"] == first  # read from the log by the beat
    await client.comm.send_json_to({"type": "heartbeat"})
    for _ in range(500):  # the beat re-adds it after sending: up to 5 s
        if await members(group):
            break
        await asyncio.sleep(0.01)
    assert await members(group) == 1
    second = await abroadcast(channel, {"n": 2})
    assert (await client.recv())["id"] == second
    await client.comm.disconnect()


class SlowSubscriber:
    """A local subscriber whose wake-ups block until released, as a client that reads nothing would."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.woken: list[int] = []

    async def stability_wakeup(self, message: dict[str, object]) -> None:
        self.woken.append(int(message["id"]))  # type: ignore[call-overload]
        await self.release.wait()


async def test_a_slow_subscriber_has_one_wakeup_waiting_at_most() -> None:
    """1,000 wake-ups for a blocked subscriber hold one task and one message; it then catches up to the newest."""
    from django_stability.realtime._hub import Hub

    hub = Hub(layer=None)
    slow = SlowSubscriber()
    hub.members["g"] = {slow: contextvars.copy_context()}
    for n in range(1, 1001):
        hub.dispatch({"type": "stability.wakeup", "group": "g", "id": n})
        await asyncio.sleep(0)
    assert len(hub.pending) == 1
    assert slow.woken == [1]
    slow.release.set()
    await asyncio.gather(*hub.pending)
    assert slow.woken == [1, 1000]
    assert hub.waiting == {}
