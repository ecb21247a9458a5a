"""``shutdown_started`` closes every realtime connection of the process, from any thread."""

from __future__ import annotations

import asyncio

from django_stability.signals import shutdown_started
from django_stability.state import Engine
from tests.realtime.conftest import Client, User


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
