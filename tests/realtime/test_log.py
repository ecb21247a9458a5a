"""The replay log operations, on process memory and on Redis, sync and async."""

from __future__ import annotations

import pytest

from django_stability.realtime._log import (
    APPEND,
    READ,
    LogRead,
    check_channel,
    encode_event,
    log_keys,
    replay_from,
)
from django_stability.state import Engine

T0_MS = 1_800_000_000_000
BASE = T0_MS * 1000


async def append(
    engine: Engine,
    channel: str,
    data: str,
    *,
    now: int = T0_MS,
    maxn: int = 5,
    ttl: int = 60_000,
) -> int:
    return await engine.arun(
        APPEND, log_keys(channel), [now, maxn, ttl, now * 1000, data]
    )


async def read(
    engine: Engine, channel: str, after: int, *, now: int = T0_MS, ttl: int = 60_000
) -> LogRead:
    return await engine.arun(READ, log_keys(channel), [now, ttl, after])


async def test_ids_increase_from_a_time_based_base(engine):
    """The first event of a new log gets base+1; each next one the id after."""
    ids = [await append(engine, "c", f'{{"n":{n}}}') for n in range(3)]
    assert ids == [BASE + 1, BASE + 2, BASE + 3]


async def test_replay_returns_events_after_an_id_in_order(engine):
    """Reading after the second id returns the third and fourth events, in order."""
    for n in range(4):
        await append(engine, "c", f'{{"n":{n}}}')
    result = await read(engine, "c", BASE + 2)
    assert result.seq == BASE + 4
    assert result.events == [(BASE + 3, '{"n":2}'), (BASE + 4, '{"n":3}')]
    assert replay_from(result, BASE + 2).reset is False


async def test_the_log_keeps_at_most_max_events(engine):
    """Past REPLAY_MAX_EVENTS the oldest events go, and a client behind them gets a reset."""
    for n in range(8):
        await append(engine, "c", f'{{"n":{n}}}', maxn=5)
    result = await read(engine, "c", BASE)
    assert result.drop == BASE + 3
    assert replay_from(result, BASE + 2).reset is True
    behind = replay_from(await read(engine, "c", BASE + 2), BASE + 2)
    assert (behind.reset, behind.since, behind.last_id) == (True, BASE + 3, BASE + 8)
    assert [eid for eid, _ in behind.events] == [BASE + n for n in range(4, 9)]
    kept = await read(engine, "c", BASE + 3)
    assert [eid for eid, _ in kept.events] == [BASE + n for n in range(4, 9)]
    assert replay_from(kept, BASE + 3).reset is False


async def test_events_older_than_the_ttl_are_dropped(engine):
    """An event older than REPLAY_TTL is no longer replayed: the reader behind it gets a reset."""
    await append(engine, "c", '{"n":0}', now=T0_MS)
    await append(engine, "c", '{"n":1}', now=T0_MS + 50_000)
    result = await read(engine, "c", BASE, now=T0_MS + 70_000)
    assert replay_from(result, BASE).reset is True
    later = await read(engine, "c", BASE + 1, now=T0_MS + 70_000)
    assert replay_from(later, BASE + 1).events == [(BASE + 2, '{"n":1}')]


async def test_an_unknown_future_id_is_a_reset(engine):
    """An id the log never issued (from an expired log, say) gets a reset, not silence."""
    await append(engine, "c", "{}")
    assert replay_from(await read(engine, "c", BASE + 10), BASE + 10).reset is True
    empty = await read(engine, "other", 5)
    assert (empty.seq, empty.events) == (0, [])
    assert replay_from(empty, 5).reset is True
    assert replay_from(empty, None).reset is False


async def test_a_new_subscriber_gets_no_replay(engine):
    """A subscriber without an id starts at the current id and receives nothing old."""
    await append(engine, "c", "{}")
    replay = replay_from(await read(engine, "c", -1), None)
    assert (replay.reset, replay.last_id, replay.events) == (False, BASE + 1, [])


async def test_a_log_created_again_starts_above_its_old_ids(engine):
    """After the whole log expired, new ids exceed every id handed out before."""
    old = await append(engine, "c", "{}", now=T0_MS, ttl=1_000)
    await engine.adelete(*log_keys("c"))  # what its expiry does, on both backends
    new = await append(engine, "c", "{}", now=T0_MS + 2_000, ttl=1_000)
    assert new > old
    assert replay_from(await read(engine, "c", old, now=T0_MS + 2_000), old).reset


def test_channel_names_are_validated():
    """Channel names follow the draft key rule; anything else (dot segments too) is a ValueError."""
    assert check_channel("notes:42.a-b_c") == "notes:42.a-b_c"
    assert check_channel("...") == "..."
    for bad in ["", ".", "..", "a" * 201, "with space", "slash/", "é", None, 3]:
        with pytest.raises(ValueError, match="channel name"):
            check_channel(bad)


def test_events_must_be_dicts():
    """broadcast() refuses an event that is not a dict or not JSON-serialisable."""
    assert encode_event({"a": "é"}) == '{"a":"é"}'
    with pytest.raises(TypeError, match="must be a dict"):
        encode_event([1])
    with pytest.raises(TypeError):
        encode_event({"a": object()})


async def test_id_zero_replays_a_log_created_since(engine):
    """A subscriber that saw no log yet (id 0) gets every event of the log created since."""
    assert (await read(engine, "c", -1)).seq == 0
    await append(engine, "c", '{"n":0}')
    replay = replay_from(await read(engine, "c", 0), 0)
    assert (replay.reset, replay.events) == (False, [(BASE + 1, '{"n":0}')])
