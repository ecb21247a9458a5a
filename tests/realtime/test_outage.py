"""The replay log while its Redis is down: nothing acknowledged, no reset, resume after.

A real throwaway redis-server (tests/fixtures/redis_server.py) is killed or
frozen under an engine on a fake clock (which drives the retry backoff); the
channel layer is in memory, since the log, not the layer, is under test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from django_stability.realtime import abroadcast, broadcast
from django_stability.state import Engine, StateUnavailable
from tests.clock import FakeClock
from tests.fixtures.redis_server import RedisServer
from tests.realtime.conftest import T0, Client, Stream, User
from tests.state.conftest import installed

pytestmark = [pytest.mark.redis]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def engine(redis_server: RedisServer, clock: FakeClock) -> Iterator[Engine]:
    """The realtime layer's engine on the throwaway server; short timeouts for the frozen one."""
    eng = Engine(redis_server.url, clock=clock, connect_timeout=0.3, timeout=0.3)
    layers = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(CHANNEL_LAYERS=layers), installed(eng):
        yield eng
    eng.close()


@pytest.fixture
def channel() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"


def test_broadcast_raises_while_redis_is_down_and_ids_keep_growing_after(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, channel: str
) -> None:
    """Killed: broadcast raises (no id from a local log); restarted: the new log's ids are above the old."""
    before = broadcast(channel, {"n": 0})
    redis_server.kill()
    with pytest.raises(StateUnavailable, match="rt_append"):
        broadcast(channel, {"n": 1})
    with pytest.raises(StateUnavailable):  # during the backoff: refused at once
        async_to_sync(abroadcast)(channel, {"n": 2})
    assert engine.status().mode == "degraded"
    assert len(engine.memory) == 0  # nothing went to the process-local store

    redis_server.start()
    clock.advance(1.0)  # the backoff is over: the next call probes Redis
    after = broadcast(channel, {"n": 3})
    assert engine.status().mode == "redis"
    assert after > before


async def test_connecting_while_redis_is_down_is_closed_with_1013_and_no_reset(
    engine: Engine, redis_server: RedisServer, channel: str
) -> None:
    """A client resuming during the outage is told to come back (1013), keeping its id."""
    last = await abroadcast(channel, {"n": 0})
    redis_server.kill()
    client = Client(channel, User(), f"last_event_id={last}")
    await client.connect()
    message = await client.recv()
    assert message["type"] == "error"
    assert message["error"] == "unavailable"
    assert await client.closed_with() == 1013


async def test_a_stream_opened_while_redis_is_down_gets_503_with_retry_after(
    engine: Engine, redis_server: RedisServer, channel: str
) -> None:
    """SSE during the outage: a 503 problem with Retry-After before any stream, never a reset."""
    last = await abroadcast(channel, {"n": 0})
    redis_server.kill()
    stream = Stream(channel, User(), headers=[(b"last-event-id", str(last).encode())])
    start = await stream.start()
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"application/problem+json"
    assert headers[b"Retry-After"] == b"1"
    problem = json.loads(await stream.chunk())
    assert problem["code"] == "unavailable"
    assert problem["status"] == 503


async def test_a_live_subscriber_keeps_its_id_through_a_freeze_and_resumes(
    engine: Engine, redis_server: RedisServer, clock: FakeClock, channel: str
) -> None:
    """Frozen Redis: heartbeats send no reset and no event; after SIGCONT the next events follow in order."""
    client = Client(channel, User(), clock=clock)
    await client.subscribe()
    first = await abroadcast(channel, {"n": 0})
    assert (await client.recv())["id"] == first

    redis_server.pause()
    try:
        client.ticks.put_nowait(None)  # the heartbeat's log read times out
        assert (await client.recv())["type"] == "heartbeat"
        with pytest.raises(StateUnavailable):
            await abroadcast(channel, {"n": 1})
        client.ticks.put_nowait(None)  # during the backoff: refused at once
        assert (await client.recv())["type"] == "heartbeat"
    finally:
        redis_server.resume()

    clock.advance(1.0)
    ids = [await abroadcast(channel, {"n": n}) for n in (2, 3)]
    got = [await client.recv()]
    while got[-1].get("id") != ids[-1] and len(got) < 5:
        got.append(await client.recv())
    # The freeze may or may not have stored event 1 (its reply never came):
    # what arrives continues from the id the client held, in order, no reset.
    assert all(m["type"] == "event" for m in got), got
    received = [m["id"] for m in got]
    assert received == list(range(first + 1, ids[-1] + 1))
    assert set(ids) <= set(received)
    await client.comm.disconnect()
