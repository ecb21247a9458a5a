"""The in-process store: Redis-like expiry on an injected clock, and memory that stays bounded."""

from __future__ import annotations

from django_stability.state import Engine, MemoryStore, Operation
from tests.clock import FakeClock


def test_pttl_reports_absent_persistent_and_remaining(clock: FakeClock) -> None:
    """pttl() answers like Redis PTTL: -2 absent, -1 no expiry, else milliseconds left."""
    store = MemoryStore(clock)
    assert store.pttl("k") == -2
    store.set("k", "v")
    assert store.pttl("k") == -1
    store.pexpire("k", 1500)
    clock.advance(0.5)
    assert store.pttl("k") == 1000


def test_key_disappears_at_its_deadline(clock: FakeClock) -> None:
    """A key with an expiry is gone once the store's clock reaches it."""
    store = MemoryStore(clock)
    store.set("k", "v", ttl_ms=100)
    clock.advance(0.099)
    assert store.get("k") == "v"
    clock.advance(0.001)
    assert store.get("k") is None


def test_set_drops_a_previous_expiry_and_pexpire_zero_deletes(clock: FakeClock) -> None:
    """set() makes a key persistent again; pexpire(<=0) deletes it; pexpire on nothing is False."""
    store = MemoryStore(clock)
    store.set("k", "v", ttl_ms=10)
    store.set("k", "w")
    clock.advance(1)
    assert store.get("k") == "w"
    assert store.pexpire("k", 0) is True
    assert store.get("k") is None
    assert store.pexpire("k", 10) is False


def test_delete_counts_only_live_keys(clock: FakeClock) -> None:
    """delete() returns how many keys existed, expired ones not counted."""
    store = MemoryStore(clock)
    store.set("a", "1")
    store.set("b", "2", ttl_ms=10)
    clock.advance(1)
    assert store.delete(["a", "b", "c"]) == 1


def test_expired_keys_are_reclaimed_without_being_read(clock: FakeClock) -> None:
    """Counters for clients that never come back do not pile up in memory."""
    engine = Engine(clock=clock)
    for ip in range(1000):
        engine.incr(f"ip:{ip}", now=clock(), window=1)
    assert len(engine.memory) == 1000
    clock.advance(1)
    engine.incr("ip:new", now=clock(), window=1)
    assert len(engine.memory) == 1


def test_renewing_a_deadline_often_does_not_grow_the_expiry_queue(
    clock: FakeClock,
) -> None:
    """A key whose expiry moves on every hit keeps one queue entry, not one per hit."""
    store = MemoryStore(clock)
    store.set("k", "v")
    for _ in range(10_000):
        clock.advance(0.001)
        store.pexpire("k", 1000)
    assert len(store._heap) == 1
    clock.advance(0.5)
    store.run(NOOP, [], [])
    assert store.get("k") == "v"
    clock.advance(0.5)
    store.run(NOOP, [], [])
    assert len(store) == 0


def test_a_deleted_or_persisted_key_leaves_no_stale_expiry(clock: FakeClock) -> None:
    """A key deleted, then recreated without expiry, is not removed by its old deadline."""
    store = MemoryStore(clock)
    store.set("k", "v", ttl_ms=10)
    store.delete(["k"])
    store.set("k", "again")
    clock.advance(1)
    store.run(NOOP, [], [])
    assert store.get("k") == "again"
    assert store._heap == []


def test_flush_empties_the_store(clock: FakeClock) -> None:
    """flush() forgets every key and deadline."""
    store = MemoryStore(clock)
    store.set("a", "1", ttl_ms=10)
    store.flush()
    assert len(store) == 0
    assert store.pttl("a") == -2


NOOP = Operation("noop", "return nil", lambda store, keys, args: None)
