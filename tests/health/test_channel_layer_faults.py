"""The ``channel_layer`` check while the server's consumers use the same layer, and Redis dies.

A real throwaway redis-server (tests/fixtures/redis_server.py) behind
``CHANNEL_LAYERS``; the test's own event loop plays the server's main loop,
where consumers sit in ``receive()`` on the process-wide layer, while the
check runs on the health loop as a probe runs it. The only waits are polls of
the probe, bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from django_stability.health import _workers
from django_stability.health._runner import CheckResult, run_checks
from django_stability.health.checks import ChannelLayer
from tests.fixtures.redis_server import RedisServer

TIMEOUT = 1.0
DEADLINE = 30.0  # a bound on each poll, never expected to be reached


async def probe() -> CheckResult:
    """One readiness-style run of the check, on the health loop."""
    report = await _workers.run_async(
        run_checks([ChannelLayer()], seconds=TIMEOUT), TIMEOUT + 1.0
    )
    return report.checks["channel_layer"]


async def poll(status: str) -> CheckResult:
    """Probe until the check answers ``status``; fail after ``DEADLINE`` seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = await probe()
        if result.status == status or time.monotonic() > deadline:
            return result


@pytest.fixture
async def consumers(redis_server: RedisServer) -> AsyncIterator[list[Any]]:
    """Three receives on the shared layer, on this (the "main") loop, restarted when Redis fails them."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_server.url, "socket_timeout": None}]
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        layer = get_channel_layer()
        received: list[Any] = []

        async def consume() -> None:
            name = await layer.new_channel()
            for _ in range(10_000):  # like a consumer: receive again after an error
                try:
                    received.append(await layer.receive(name))
                except Exception:
                    await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(consume()) for _ in range(3)]
        await asyncio.sleep(0)  # let them enter receive()
        # channels-redis's own count: the state that refuses another loop's receive.
        assert layer.receive_count == 3
        try:
            yield received
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await layer.flush()


@pytest.mark.redis
async def test_check_passes_while_consumers_receive_on_another_loop(
    consumers: list[Any],
) -> None:
    """Consumers in receive() on the main loop do not fail the health loop's round trip."""
    result = await probe()
    assert result.status == "ok", result.detail
    assert result.detail == "send and receive on RedisChannelLayer"


@pytest.mark.redis
async def test_check_fails_while_redis_is_down_and_recovers_after_restart(
    consumers: list[Any], redis_server: RedisServer
) -> None:
    """Redis killed: the probe fails; Redis started again on its port: the probe passes again."""
    assert (await probe()).status == "ok"

    redis_server.kill()
    down = await poll("fail")
    assert down.status == "fail"

    redis_server.start()
    up = await poll("ok")
    assert up.status == "ok", up.detail


@pytest.mark.redis
async def test_check_recovers_after_redis_froze_past_the_timeout(
    consumers: list[Any], redis_server: RedisServer
) -> None:
    """A hung Redis times the check out (its receive cancelled); after SIGCONT it passes again."""
    assert (await probe()).status == "ok"
    redis_server.pause()
    try:
        frozen = await probe()
        assert frozen.status == "fail"
        assert frozen.detail == f"timed out after {TIMEOUT:g} s"
    finally:
        redis_server.resume()
    up = await poll("ok")
    assert up.status == "ok", up.detail
