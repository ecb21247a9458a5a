"""What both consumers do once subscribed: catching up from the log when a wake-up is lost."""

from __future__ import annotations

import time

from django_stability.realtime import _broadcast, abroadcast
from django_stability.realtime._log import APPEND, log_keys
from django_stability.state import Engine
from tests.realtime.conftest import T0, Client, User


async def test_a_wakeup_the_layer_drops_is_caught_up(
    backend: Engine, channel: str
) -> None:
    """An event whose wake-up never arrives is delivered with the next one, not lost."""
    client = Client(channel, User())
    await client.subscribe()
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
    client = Client(channel, User())
    await client.subscribe()
    await backend.arun(APPEND, log_keys(channel), _broadcast._append_args({"n": 7}, T0))
    client.ticks.put_nowait(None)
    assert await client.recv() == {"type": "heartbeat"}
    assert (await client.recv())["data"] == {"n": 7}
    await client.comm.disconnect()
