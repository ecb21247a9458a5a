"""Rate-limit tests: the test URLconf and middleware, a fresh engine, the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from django.test import override_settings
from prometheus_client import REGISTRY

from django_stability.ratelimit._core import ip_value
from django_stability.runtime import runtime
from django_stability.state import get_engine
from tests import services
from tests.clock import FakeClock
from tests.ratelimit import support


@pytest.fixture
def limits() -> Iterator[FakeClock]:
    """The rate-limit URLconf and middleware on a memory engine of their own, 5/m by default."""
    with override_settings(
        ROOT_URLCONF="tests.ratelimit.support",
        MIDDLEWARE=support.MIDDLEWARE,
        STABILITY_REDIS_URL=None,
        STABILITY_RATELIMIT="5/m",
    ):
        yield support.CLOCK


@pytest.fixture
def ip() -> str:
    """A client address no other test (or concurrent run) counts against."""
    return support.unique_ip()


async def close_engine() -> None:
    """Close the current engine's connections (both APIs) and forget it, as a worker exit would."""
    await get_engine().aclose()  # this loop's client at once, not soon
    runtime.reset()


@pytest.fixture
async def redis_limits(limits: FakeClock, ip: str) -> AsyncIterator[FakeClock]:
    """As ``limits``, counting in the suite's Redis database; the counters of ``ip`` are removed after."""
    with override_settings(STABILITY_REDIS_URL=services.REDIS_URL):
        yield limits
        await close_engine()
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"stability:rl:*:{ip_value(ip)}"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def refused(group: str, reason: str = "limited") -> float:
    """The current value of ``stability_ratelimited_total`` for ``group`` and ``reason``."""
    value = REGISTRY.get_sample_value(
        "stability_ratelimited_total", {"group": group, "reason": reason}
    )
    return value or 0.0
