"""The per-process memory of recently read events that lets one log read serve every local subscriber."""

from __future__ import annotations

import asyncio

from django_stability.realtime._recent import Recent


def events(first: int, last: int) -> list[tuple[int, str]]:
    return [(n, f'{{"n":{n}}}') for n in range(first, last + 1)]


def test_kept_events_serve_a_range_they_cover() -> None:
    """A wake-up for ids the process already read is answered from memory, from the right offset."""
    recent = Recent()
    recent.remember("c", events(5, 9), max_events=100)
    assert recent.after("c", 6, 8) == events(7, 9)
    assert recent.after("c", 4, 9) == events(5, 9)
    assert recent.after("c", 9, 9) == []


def test_a_range_not_fully_kept_is_not_served() -> None:
    """Ids before the kept run, or past it, send the subscriber to the log."""
    recent = Recent()
    assert recent.after("c", 0, 1) is None
    recent.remember("c", events(5, 9), max_events=100)
    assert recent.after("c", 3, 9) is None
    assert recent.after("c", 6, 10) is None


def test_touching_reads_join_and_a_gap_starts_a_new_run() -> None:
    """A read that continues or overlaps the run extends it; one after a gap replaces it."""
    recent = Recent()
    recent.remember("c", events(1, 3), max_events=100)
    recent.remember("c", events(3, 6), max_events=100)
    assert recent.after("c", 0, 6) == events(1, 6)
    recent.remember("c", events(20, 21), max_events=100)
    assert recent.after("c", 0, 6) is None
    assert recent.after("c", 19, 21) == events(20, 21)


def test_memory_is_bounded_per_channel_and_in_channels() -> None:
    """At most max_events per channel and max_channels channels are kept (least recent go)."""
    recent = Recent(max_channels=2)
    recent.remember("a", events(1, 10), max_events=4)
    assert recent.after("a", 6, 10) == events(7, 10)
    assert recent.after("a", 5, 10) is None
    recent.remember("b", events(1, 1), max_events=4)
    recent.remember("c", events(1, 1), max_events=4)
    assert recent.after("a", 9, 10) is None
    assert recent.after("c", 0, 1) == events(1, 1)


async def test_concurrent_readers_share_one_read() -> None:
    """Fifty subscribers woken together cause one read of the log, and all get its result."""
    recent = Recent()
    calls = 0

    async def read() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return "log"

    results = await asyncio.gather(*(recent.shared("c", 7, read) for _ in range(50)))
    assert results == ["log"] * 50
    assert calls == 1
    assert await recent.shared("c", 7, read) == "log"  # a later read runs again
    assert calls == 2
