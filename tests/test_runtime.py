"""``django_stability.runtime``: built once per key, closed and forgotten by ``reset()`` (a settings change)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from django.test import override_settings

from django_stability.runtime import Runtime, runtime
from django_stability.state import get_engine
from tests import services


class Thing:
    """A value that records being closed."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_get_builds_once_and_reset_closes_then_forgets():
    """The first get() builds; later ones return that value; reset() closes it and the next get() builds anew."""
    held = Runtime()
    first = held.get("thing", Thing, Thing.close)
    assert held.get("thing", Thing, Thing.close) is first
    held.reset()
    assert first.closed
    second = held.get("thing", Thing, Thing.close)
    assert second is not first and not second.closed


def test_concurrent_first_uses_build_once():
    """Threads asking for the same key at once get one value, built once."""
    held, built, barrier = Runtime(), [], threading.Barrier(8)

    def build() -> Thing:
        built.append(1)
        time.sleep(0.01)  # keep the lock held while the others arrive
        return Thing()

    got: list[Thing] = []

    def ask() -> None:
        barrier.wait()
        got.append(held.get("slow", build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(value) for value in got}) == 1


def test_kept_and_installed_values_outlive_a_reset_but_not_everything():
    """keep=True and install() survive reset(); reset(everything=True) forgets them too."""
    held = Runtime()
    kept = held.get("kept", Thing, Thing.close, keep=True)
    stand_in = Thing()
    held.install("probes", stand_in)
    assert held.get("probes", Thing) is stand_in
    held.reset()
    assert held.get("kept", Thing) is kept
    assert held.get("probes", Thing) is stand_in
    was_closed = kept.closed
    held.reset(everything=True)
    assert (was_closed, kept.closed) == (False, True)
    assert held.get("kept", Thing) is not kept
    assert held.get("probes", Thing) is not stand_in


def test_install_none_goes_back_to_building():
    """install(key, None) uninstalls the stand-in, and closes a value built before it was installed."""
    held = Runtime()
    built = held.get("probes", Thing, Thing.close)
    held.install("probes", Thing())
    assert built.closed
    held.install("probes", None)
    assert isinstance(held.get("probes", Thing), Thing)


def test_callbacks_run_after_each_reset():
    """on_reset() callbacks run on every reset, after the values are closed."""
    held, calls = Runtime(), []
    thing = held.get("thing", Thing, Thing.close)
    held.on_reset(lambda: calls.append(thing.closed))
    held.reset()
    held.reset()
    assert calls == [True, True]


def test_a_failing_close_is_logged_and_the_reset_goes_on(caplog):
    """One close raising does not stop the others, nor the callbacks."""
    held, calls = Runtime(), []

    def broken(value: object) -> None:
        raise OSError("socket already gone")

    held.get("broken", object, broken)
    other = held.get("other", Thing, Thing.close)
    held.on_reset(lambda: calls.append("called"))
    with caplog.at_level(logging.ERROR, logger="django_stability.runtime"):
        held.reset()
    assert other.closed and calls == ["called"]
    assert [r.getMessage() for r in caplog.records] == ["Closing broken failed"]


def test_a_settings_change_resets_the_process_runtime():
    """Django's setting_changed signal resets ``runtime``: what was built is built again."""
    before = runtime.get("test.value", Thing, Thing.close)
    with override_settings(STABILITY_APP_VERSION="runtime-test"):
        assert before.closed
        assert runtime.get("test.value", Thing) is not before


# The engine's connections, counted on the Redis server ---------------------------


def connections(name: str) -> int:
    """Connections the server has open from clients named ``name``."""
    client = redis.Redis.from_url(services.REDIS_URL)
    try:
        return sum(1 for c in client.client_list() if c.get("name") == name)
    finally:
        client.close()


def settle(name: str, done: Callable[[int], bool]) -> int:
    """The count once ``done(count)``, or after 2 s (the server sees a close a moment later)."""
    count = connections(name)
    for _ in range(200):
        if done(count):
            break
        time.sleep(0.01)
        count = connections(name)
    return count


@pytest.fixture
def named() -> Iterator[tuple[str, str]]:
    """A client name of its own, and the suite's Redis URL naming its connections so."""
    name = f"stability-runtime-{uuid.uuid4().hex[:12]}"
    yield name, f"{services.REDIS_URL}?client_name={name}"
    runtime.reset()


@pytest.mark.redis
def test_a_settings_change_closes_the_previous_engines_connections(named):
    """The engine's thread connection and pool connection close when the setting changes."""
    name, url = named
    with override_settings(STABILITY_REDIS_URL=url):
        engine = get_engine()
        engine.incr("runtime-test", now=0.0, window=1.0)  # this thread's connection
        engine.ping()  # a pooled one
        assert connections(name) == 2
    assert settle(name, lambda n: n == 0) == 0
    assert get_engine() is not engine


@pytest.mark.redis
async def test_a_settings_change_closes_this_loops_client(named):
    """The running loop's client closes right after the change, not only when the loop ends."""
    name, url = named
    with override_settings(STABILITY_REDIS_URL=url):
        await get_engine().aincr("runtime-test", now=0.0, window=1.0)
        assert connections(name) == 1
    for _ in range(200):
        await asyncio.sleep(0.01)  # the loop runs the closing
        if connections(name) == 0:
            break
    assert connections(name) == 0


@pytest.mark.redis
def test_reset_closes_a_client_of_a_loop_in_another_thread(named):
    """A loop running in another thread (the health loop, a server's) gets its client closed there."""
    name, url = named
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        with override_settings(STABILITY_REDIS_URL=url):
            engine = get_engine()
            asyncio.run_coroutine_threadsafe(engine.aping(), loop).result(5)
            assert connections(name) == 1
            runtime.reset()  # what tests call to start afresh
        assert settle(name, lambda n: n == 0) == 0
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
