"""Per-user connection slots and connect rate, on process memory and on Redis."""

from __future__ import annotations

from django_stability.realtime._slots import (
    CLAIM,
    Claim,
    Verdict,
    slot_keys,
)
from django_stability.state import Engine

NOW = 1_800_000_000_000


async def claim(
    engine: Engine,
    slot: str,
    *,
    now: int = NOW,
    limit: int = 2,
    ttl: int = 3_000,
    rate: int = 100,
    window: int = 60_000,
) -> Claim:
    return await engine.arun(
        CLAIM, slot_keys("u1"), [now, limit, ttl, slot, rate, window]
    )


async def test_the_cap_refuses_a_connection_over_the_limit(engine):
    """Two slots fit under a cap of two; the third attempt is refused as full."""
    assert (await claim(engine, "a")).verdict is Verdict.ADMITTED
    assert (await claim(engine, "b")).verdict is Verdict.ADMITTED
    assert (await claim(engine, "c")).verdict is Verdict.FULL


async def test_a_released_slot_is_free_again(engine):
    """Closing a connection frees its slot at once."""
    await claim(engine, "a")
    await claim(engine, "b")
    assert await engine.arelease_lease(slot_keys("u1")[0], "a") is True
    assert await engine.arelease_lease(slot_keys("u1")[0], "a") is False
    assert (await claim(engine, "c")).verdict is Verdict.ADMITTED


async def test_a_slot_not_renewed_expires(engine):
    """A dead worker's slot (never renewed) is free after its TTL; a renewed one is kept."""
    await claim(engine, "dead", now=NOW)
    await claim(engine, "alive", now=NOW)
    await engine.arenew_lease(
        slot_keys("u1")[0], "alive", ttl=3.0, now=(NOW + 2_000) / 1000
    )
    assert (await claim(engine, "x", now=NOW + 2_500)).verdict is Verdict.FULL
    assert (await claim(engine, "y", now=NOW + 3_500)).verdict is Verdict.ADMITTED
    assert (await claim(engine, "z", now=NOW + 3_600)).verdict is Verdict.FULL


async def test_the_connect_rate_refuses_attempts_over_it(engine):
    """Past CONNECT_RATE attempts in the window, attempts are refused with the time left."""
    for n in range(3):
        await claim(engine, f"s{n}", limit=10, rate=3, window=60_000)
        await engine.arelease_lease(slot_keys("u1")[0], f"s{n}")
    refused = await claim(engine, "s4", now=NOW + 10_000, limit=10, rate=3)
    assert refused.verdict is Verdict.RATE_LIMITED
    assert refused.retry_after == 50.0
    later = await claim(engine, "s5", now=NOW + 60_000, limit=10, rate=3)
    assert later.verdict is Verdict.ADMITTED
