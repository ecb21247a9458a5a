"""broadcast() from sync and async code, with no layer and with a layer that is down."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from django_stability.realtime import abroadcast, broadcast
from django_stability.realtime._log import READ, log_keys
from django_stability.state import Engine
from tests.fixtures.redis_server import free_port
from tests.realtime.conftest import T0, Client, User


async def test_sync_broadcast_reaches_a_subscriber(
    backend: Engine, channel: str
) -> None:
    """broadcast() called from sync code (a view, a signal) is delivered like abroadcast()."""
    client = Client(channel, User())
    await client.subscribe()
    eid = await sync_to_async(broadcast)(channel, {"from": "sync"})
    message = await client.recv()
    assert (message["id"], message["data"]) == (eid, {"from": "sync"})
    await client.comm.disconnect()


@pytest.mark.parametrize("bad", ["", "sp ace", "x" * 201])
async def test_a_bad_channel_name_is_refused(backend: Engine, bad: str) -> None:
    """broadcast() and abroadcast() raise ValueError for an invalid channel name."""
    with pytest.raises(ValueError, match="channel name"):
        await abroadcast(bad, {})
    with pytest.raises(ValueError, match="channel name"):
        await sync_to_async(broadcast)(bad, {})


async def test_a_non_dict_event_is_refused(backend: Engine, channel: str) -> None:
    """An event must be a dict: anything else is a TypeError and nothing is stored."""
    with pytest.raises(TypeError, match="must be a dict"):
        await abroadcast(channel, ["not", "a", "dict"])  # type: ignore[arg-type]
    read = await backend.arun(READ, log_keys(channel), [0, 600_000, 0])
    assert read.seq == 0


async def test_without_a_channel_layer_events_are_still_logged(
    backend: Engine, channel: str
) -> None:
    """With no CHANNEL_LAYERS, broadcast() still stores the event for later replay."""
    with override_settings(CHANNEL_LAYERS={}):
        eid = await abroadcast(channel, {"n": 1})
    read = await backend.arun(READ, log_keys(channel), [round(T0 * 1000), 600_000, 0])
    assert read.events == [(eid, '{"n":1}')]


@pytest.mark.redis
async def test_a_layer_that_is_down_does_not_fail_broadcast(
    backend: Engine, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With the channel layer unreachable, broadcast() still stores the event and logs the failed wake-up."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": dead, "socket_connect_timeout": 0.2}]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        eid = await abroadcast(channel, {"n": 1})
    read = await backend.arun(READ, log_keys(channel), [round(T0 * 1000), 600_000, 0])
    assert read.events == [(eid, '{"n":1}')]
    assert "wake-up" in caplog.text
