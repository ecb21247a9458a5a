"""Choosing, caching and inspecting the engine; its Redis clients per process and per event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
import redis.asyncio
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.state import Engine, StateUnavailable, get_engine
from tests import services
from tests.clock import FakeClock
from tests.fixtures.redis_server import free_port
from tests.state.conftest import LogRecords, redis_engine


def test_without_a_url_the_engine_keeps_state_in_memory() -> None:
    """With STABILITY_REDIS_URL unset (the default), state lives in this process."""
    engine = get_engine()
    assert engine.mode == "memory"
    assert engine.healthy is True
    assert engine.redis_client() is None
    assert engine.ping() == 0.0


@override_settings(STABILITY_REDIS_URL="")
def test_an_empty_url_means_memory_too() -> None:
    """An empty STABILITY_REDIS_URL (e.g. an unset env var) is treated as no URL."""
    assert get_engine().mode == "memory"


def test_get_engine_is_built_once_and_rebuilt_after_a_settings_change() -> None:
    """Every caller shares one engine per process; override_settings gets a fresh one."""
    first = get_engine()
    assert get_engine() is first
    with override_settings(STABILITY_REDIS_URL=services.REDIS_URL):
        inside = get_engine()
        assert inside is not first
        assert inside.status().url == services.REDIS_URL
    assert get_engine() is not inside


@pytest.mark.parametrize(
    "url", ["http://example.com", "redis://host:6379/?socket_timeout=soon"]
)
def test_a_malformed_url_is_a_configuration_error(url: str) -> None:
    """A URL redis-py cannot use raises ImproperlyConfigured naming the setting."""
    with (
        override_settings(STABILITY_REDIS_URL=url),
        pytest.raises(ImproperlyConfigured, match="STABILITY_REDIS_URL"),
    ):
        get_engine()


def test_status_never_shows_the_password() -> None:
    """The URL in status and logs has its password replaced by ***."""
    engine = Engine("redis://app:s3cret@127.0.0.1:6379/3")
    assert engine.status().url == "redis://app:***@127.0.0.1:6379/3"
    assert (
        Engine("redis://:s3cret@127.0.0.1:6379/3").status().url
        == "redis://:***@127.0.0.1:6379/3"
    )


@pytest.mark.redis
def test_redis_mode_reports_healthy_and_pings() -> None:
    """With a reachable Redis the engine says redis/healthy and a ping takes real time."""
    engine = Engine(services.REDIS_URL)
    try:
        assert engine.ping() > 0
        status = engine.status()
        assert (
            status.mode,
            status.healthy,
            status.error,
            status.down_for,
            status.retry_in,
        ) == (
            "redis",
            True,
            None,
            None,
            None,
        )
    finally:
        engine.close()


@pytest.mark.redis
def test_keys_are_namespaced_in_redis(clock: FakeClock) -> None:
    """Every key the engine writes starts with 'stability:' so it cannot clash with the app's own."""
    name = f"drain-{uuid.uuid4().hex}"
    engine = Engine(services.REDIS_URL, clock=clock)
    try:
        engine.set(name, "1", now=clock())
        client = engine.redis_client()
        assert client is not None
        assert client.keys(f"*{name}*") == [f"stability:{name}"]
    finally:
        engine.delete(name)
        engine.close()


@pytest.mark.redis
def test_scripts_missing_from_redis_are_sent_again(clock: FakeClock) -> None:
    """After SCRIPT FLUSH (or a Redis restart) operations still work: EVALSHA falls back to EVAL."""
    with redis_engine(clock=clock) as engine:
        engine.incr("n", now=clock(), window=10)
        client = engine.redis_client()
        assert client is not None
        client.script_flush()
        assert engine.incr("n", now=clock(), window=10).hits == 2
        assert engine.mode == "redis"


@pytest.mark.redis
async def test_a_script_bug_raises_and_does_not_count_as_an_outage() -> None:
    """A Lua error is the caller's bug: it raises ResponseError and the engine stays on Redis."""
    from django_stability.state import Operation

    broken: Operation[None] = Operation(
        "broken", "return redis.call('NO_SUCH_COMMAND')", lambda s, k, a: None
    )
    engine = Engine(services.REDIS_URL)
    try:
        with pytest.raises(redis.exceptions.ResponseError):
            engine.run(broken, ["k"])
        with pytest.raises(redis.exceptions.ResponseError):
            await engine.arun(broken, ["k"])
        assert engine.mode == "redis"
    finally:
        await engine.aclose()
        engine.close()


@pytest.mark.redis
def test_each_event_loop_gets_its_own_async_client_closed_with_the_loop() -> None:
    """An asyncio client is bound to one loop: each loop gets its own, closed when the loop ends."""
    engine = Engine(services.REDIS_URL)

    async def use() -> redis.asyncio.Redis:
        await engine.aping()
        client = await engine.aredis_client()
        assert client is not None
        assert await engine.aredis_client() is client
        return client

    first = asyncio.run(use())
    second = asyncio.run(use())
    assert first is not second
    # Both loops are gone, and so are their clients and connections.
    assert engine._redis is not None and engine._redis._loops == {}
    pool = first.connection_pool
    assert pool._in_use_connections == set()
    assert pool._available_connections
    assert not any(conn.is_connected for conn in pool._available_connections)
    engine.close()


@pytest.mark.redis
async def test_aclose_closes_this_loops_client_early() -> None:
    """aclose() releases the running loop's connections; the next call opens a new client."""
    engine = Engine(services.REDIS_URL)
    try:
        await engine.aping()
        before = await engine.aredis_client()
        await engine.aclose()
        assert await engine.aredis_client() is not before
    finally:
        await engine.aclose()
        engine.close()


async def test_memory_mode_async_calls_have_no_client() -> None:
    """In memory mode there is no Redis client, sync or async, and aping() is free."""
    engine = Engine()
    assert await engine.aredis_client() is None
    assert await engine.aping() == 0.0
    await engine.aclose()
    engine.close()


def test_an_unreachable_redis_at_startup_degrades_and_logs_once(
    clock: FakeClock, state_log: LogRecords
) -> None:
    """Nothing listens at the URL: every call still answers, from process memory, with one warning."""
    engine = Engine(f"redis://127.0.0.1:{free_port()}/0", clock=clock)
    assert engine.mode == "redis"  # nothing tried yet: connecting is lazy
    results = [engine.incr("k", now=clock(), window=60).hits for _ in range(5)]
    assert results == [1, 2, 3, 4, 5]
    status = engine.status()
    assert (status.mode, status.healthy, status.down_for, status.retry_in) == (
        "degraded",
        False,
        0.0,
        1.0,
    )
    assert status.error is not None and "ConnectionError" in status.error
    assert state_log.levels() == ["WARNING"]
    assert "unreachable" in state_log.messages()[0]
    with pytest.raises(StateUnavailable):
        engine.ping()
    engine.close()


async def test_an_unreachable_redis_degrades_async_calls_too(
    clock: FakeClock, state_log: LogRecords
) -> None:
    """Async calls degrade the same way, without raising."""
    engine = Engine(f"redis://127.0.0.1:{free_port()}/0", clock=clock)
    assert await engine.aset("k", "v", now=clock()) is True
    assert await engine.aget("k", now=clock()) == "v"
    assert engine.mode == "degraded"
    with pytest.raises(StateUnavailable):
        await engine.aping()
    assert state_log.levels() == ["WARNING", "DEBUG"]
    await engine.aclose()


@pytest.mark.redis
def test_a_loop_closed_without_shutdown_is_forgotten_by_the_next_loop() -> None:
    """A loop closed abruptly (no shutdown_asyncgens) does not stay in the per-loop cache forever."""
    engine = Engine(services.REDIS_URL)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(engine.aping())
        client = loop.run_until_complete(engine.aredis_client())
        assert client is not None
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    assert engine._redis is not None and list(engine._redis._loops) == [loop]
    asyncio.run(engine.aping())
    assert engine._redis._loops == {}
    engine.close()


@pytest.mark.redis
async def test_aclose_is_harmless_when_this_loop_has_no_client() -> None:
    """aclose() before any async call, or twice, does nothing and raises nothing."""
    engine = Engine(services.REDIS_URL)
    await engine.aclose()
    await engine.aping()
    await engine.aclose()
    await engine.aclose()
    engine.close()


@pytest.mark.redis
def test_a_closed_engine_reconnects_on_next_use(clock: FakeClock) -> None:
    """close() releases connections without breaking the engine: the next call reconnects."""
    with redis_engine(clock=clock) as engine:
        engine.incr("n", now=clock(), window=10)
        engine.close()
        assert engine.incr("n", now=clock(), window=10).hits == 2
        assert engine.mode == "redis"


WITHOUT_REDIS = """
import sys
sys.modules["redis"] = None  # as if the [redis] extra were not installed
from django.core.exceptions import ImproperlyConfigured
from django_stability.state import Engine
engine = Engine()
print(engine.incr("k", now=1.0, window=1).hits, engine.mode)
try:
    Engine("redis://127.0.0.1:6379/0")
except ImproperlyConfigured as exc:
    print(exc)
"""


def test_memory_mode_works_without_redis_py_installed() -> None:
    """Without the [redis] extra the engine runs in memory, and a URL asks for the extra."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_REDIS],
        cwd=Path(__file__).resolve().parent.parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "1 memory",
        'STABILITY_REDIS_URL is set but redis-py is not installed: pip install "django-stability[redis]"',
    ]


def test_outage_errors_are_importable_for_raw_client_users() -> None:
    """OUTAGE_ERRORS is exported lazily for code that uses redis_client() directly."""
    from django_stability import state

    assert redis.exceptions.ConnectionError in state.OUTAGE_ERRORS
    with pytest.raises(AttributeError):
        state.NO_SUCH_NAME  # noqa: B018
