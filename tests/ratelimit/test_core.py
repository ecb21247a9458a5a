"""A client known to be over its limit is refused without asking the shared state again."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from django_stability.ratelimit import _core
from django_stability.ratelimit._core import MAX_REMEMBERED, _OverLimit, ip_value
from tests import services
from tests.fixtures.redis_server import free_port
from tests.http_modes import MODES
from tests.ratelimit.conftest import close_engine
from tests.ratelimit.support import fetch


async def _burst(mode: str, n: int, ip: str) -> list[Any]:
    return [(await fetch(mode, "/api/ok", ip=ip)) for _ in range(n)]


def redis_count(ip: str) -> int:
    """The shared counter of ``ip`` as Redis holds it."""
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        (key,) = client.scan_iter(match=f"stability:rl:*:{ip_value(ip)}")
        return int(client.hget(key, "c") or 0)
    finally:
        client.close()


@pytest.mark.redis
@pytest.mark.parametrize("mode", MODES)
async def test_refused_hits_cost_redis_nothing_until_the_window_ends(
    mode, redis_limits, ip
):
    """After the first 429 a flood of requests leaves the Redis counter alone; the next window admits."""
    responses = await _burst(mode, 6, ip)
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert redis_count(ip) == 6
    flood = await _burst(mode, 20, ip)
    assert {r.status_code for r in flood} == {429}
    assert {r["RateLimit-Remaining"] for r in flood} == {"0"}
    assert redis_count(ip) == 6  # not one more command reached Redis
    assert 1 <= int(flood[-1]["Retry-After"]) <= 60

    redis_limits.advance(30)
    assert int((await fetch(mode, "/api/ok", ip=ip))["Retry-After"]) == 30
    redis_limits.advance(31)  # the window is over: counted again, and admitted
    assert (await fetch(mode, "/api/ok", ip=ip)).status_code == 200


@pytest.mark.redis
@pytest.mark.parametrize("mode", MODES)
async def test_another_worker_still_asks_redis_once(mode, redis_limits, ip):
    """What one process knows is its own: a new engine (another worker) learns the refusal from Redis."""
    await _burst(mode, 6, ip)
    await close_engine()
    assert (await fetch(mode, "/api/ok", ip=ip)).status_code == 429
    assert redis_count(ip) == 7


@pytest.mark.parametrize("mode", MODES)
async def test_in_memory_the_refusal_is_remembered_too(mode, limits, ip):
    responses = await _burst(mode, 8, ip)
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 3
    limits.advance(61)
    assert (await fetch(mode, "/api/ok", ip=ip)).status_code == 200


def test_the_memory_of_refusals_is_bounded() -> None:
    """Expired entries go first, then the oldest: at most MAX_REMEMBERED counters per engine."""
    known = _OverLimit()
    for n in range(MAX_REMEMBERED):
        known.remember(f"k{n}", end=100.0 if n % 2 else 10.0, now=0.0)
    known.remember("late", end=100.0, now=50.0)  # the even ones have expired
    assert known.get("late", 50.0) == 100.0
    assert known.get("k1", 50.0) == 100.0
    assert len(known._ends) == MAX_REMEMBERED // 2 + 1
    for n in range(MAX_REMEMBERED):
        known.remember(f"new{n}", end=200.0, now=60.0)
    assert len(known._ends) == MAX_REMEMBERED
    assert known.get("k1", 60.0) is None  # the oldest were forgotten
    assert known.get(f"new{MAX_REMEMBERED - 1}", 60.0) == 200.0


def test_a_degraded_count_is_not_remembered() -> None:
    """A process-local count while Redis is unreachable decides nothing for later: it is never cached."""
    from django_stability.checks._rates import parse_rate
    from django_stability.state import Engine

    # Nothing listens on this port: every call is refused, the engine degrades.
    engine = Engine(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1.0)
    try:
        rate = parse_rate("1/m")
        usages = [_core.hit(engine, rate, "k", 1000.0) for _ in range(3)]
        assert [u.limited for u in usages] == [False, True, True]
        assert not any(u.shared for u in usages)
        assert [u.hits for u in usages] == [1, 2, 3]  # each one counted, none cached
        assert _core._known(engine).get("k", 1000.0) is None
    finally:
        engine.close()
