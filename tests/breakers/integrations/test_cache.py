"""The cache breaker over the suite's Redis and over a throwaway redis-server the tests kill."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.breakers import CircuitBreaker
from django_stability.breakers.integrations import BreakerCache
from tests import services
from tests.breakers.integrations.conftest import fake_breaker
from tests.breakers.integrations.urls import FAULT_CACHE
from tests.clock import FakeClock
from tests.fixtures.redis_server import RedisServer
from tests.http_modes import MODES, fetch
from tests.state.conftest import forget_keys

BACKENDS = {
    "django-redis": (
        "django_redis.cache.RedisCache",
        {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    ),
    "django": (
        "django.core.cache.backends.redis.RedisCache",
        {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    ),
}


def entry(
    backend: str, location: str, guard: CircuitBreaker | str, prefix: str
) -> dict[str, Any]:
    """A ``CACHES`` entry wrapping ``backend`` (a key of BACKENDS)."""
    path, options = BACKENDS[backend]
    return {
        "BACKEND": "django_stability.breakers.integrations.BreakerCache",
        "LOCATION": location,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"BACKEND": path, "BREAKER": guard, **options},
    }


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    """The wrapped backend: django-redis, then Django's own RedisCache."""
    return str(request.param)


@pytest.fixture
def guard(clock: FakeClock) -> CircuitBreaker:
    """The cache's breaker: opens after two failures, tries again after 30 s."""
    return fake_breaker(clock, "cache", failure_threshold=2, reset_timeout=30)


@pytest.fixture
def cache(backend: str, guard: CircuitBreaker) -> Iterator[BreakerCache]:
    """A guarded cache on the suite's Redis, in a key prefix of its own."""
    prefix = f"stability-test:{uuid.uuid4().hex}"
    params = entry(backend, services.REDIS_URL, guard, prefix)
    found = BreakerCache(params["LOCATION"], params)
    try:
        yield found
    finally:
        found.close()
        forget_keys(prefix)


@pytest.mark.redis
def test_calls_reach_the_backend_while_closed(cache: BreakerCache) -> None:
    """With the breaker closed the wrapper behaves as the wrapped backend."""
    cache.set("a", 1)
    assert cache.get("a") == 1
    assert cache.add("a", 2) is False
    assert cache.add("b", 2) is True
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.has_key("a") and "b" in cache
    assert cache.incr("a", 5) == 6
    assert cache.decr("a") == 5
    assert cache.touch("a", 60) is True
    assert cache.set_many({"c": 3, "d": 4}) == []
    assert cache.delete("c") is True
    cache.delete_many(["a", "b"])
    assert cache.get_many(["a", "b", "d"]) == {"d": 4}
    assert cache.get_or_set("e", lambda: 5) == 5
    assert cache.breaker.state == "closed"


@pytest.mark.redis
async def test_async_calls_reach_the_backend_while_closed(cache: BreakerCache) -> None:
    """The async API behaves as the wrapped backend's with the breaker closed."""
    await cache.aset("a", 1)
    assert await cache.aget("a") == 1
    assert await cache.aadd("a", 2) is False
    assert await cache.aadd("b", 2) is True
    assert await cache.aget_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert await cache.ahas_key("a")
    assert await cache.aincr("a", 5) == 6
    assert await cache.adecr("a") == 5
    assert await cache.atouch("a", 60) is True
    assert await cache.aset_many({"c": 3, "d": 4}) == []
    assert await cache.adelete("c") is True
    await cache.adelete_many(["a", "b"])
    assert await cache.aget_many(["a", "b", "d"]) == {"d": 4}
    assert await cache.aget_or_set("e", 5) == 5
    assert await cache.breaker.astate() == "closed"


@pytest.mark.redis
def test_open_breaker_turns_reads_into_misses_and_drops_writes(
    cache: BreakerCache,
) -> None:
    """While open, reads miss and writes are dropped without an exception, and the data survives."""
    cache.set("k", "before")
    cache.breaker.command("open")
    assert cache.get("k") is None
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["k"]) == {}
    assert not cache.has_key("k") and "k" not in cache
    cache.set("k", "during")
    assert cache.add("new", 1) is False
    assert cache.delete("k") is False
    assert cache.incr("n", 3) == 3 and cache.decr("n", 2) == -2
    assert cache.touch("k") is False
    assert cache.set_many({"x": 1, "y": 2}) == ["x", "y"]
    cache.delete_many(["k"])
    cache.clear()
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    cache.breaker.command("release")
    assert cache.get("k") == "before"
    assert cache.get_many(["new", "n", "x"]) == {}


@pytest.mark.redis
async def test_open_breaker_async_reads_miss_and_writes_drop(
    cache: BreakerCache,
) -> None:
    """The async API answers an open breaker with misses and dropped writes too."""
    await cache.aset("k", "before")
    await cache.breaker.acommand("open")
    assert await cache.aget("k", "default") == "default"
    assert await cache.aget_many(["k"]) == {}
    assert await cache.ahas_key("k") is False
    await cache.aset("k", "during")
    assert await cache.aadd("new", 1) is False
    assert await cache.adelete("k") is False
    assert await cache.aincr("n", 3) == 3 and await cache.adecr("n", 2) == -2
    assert await cache.atouch("k") is False
    assert await cache.aset_many({"x": 1}) == ["x"]
    await cache.adelete_many(["k"])
    await cache.aclear()
    await cache.breaker.acommand("release")
    assert await cache.aget("k") == "before"
    assert await cache.aget_many(["new", "n", "x"]) == {}


@pytest.mark.redis
async def test_caller_errors_reach_the_caller_and_do_not_count(
    cache: BreakerCache,
) -> None:
    """incr of a missing key raises ValueError, sync and async, and the breaker stays closed."""
    for _ in range(3):
        with pytest.raises(ValueError):
            cache.incr("missing")
        with pytest.raises(ValueError):
            await cache.aincr("missing")
    assert cache.breaker.state == "closed"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["/api/cache/", "/api/async/cache/"])
async def test_killed_redis_keeps_views_answering_and_opens_then_closes(
    redis_server: RedisServer,
    backend: str,
    guard: CircuitBreaker,
    clock: FakeClock,
    mode: str,
    view: str,
) -> None:
    """A killed Redis never fails the view; the breaker opens, and closes after a restart and reset_timeout."""
    caches_setting = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        FAULT_CACHE: entry(backend, redis_server.url, guard, "t"),
    }
    with override_settings(
        CACHES=caches_setting, ROOT_URLCONF="tests.breakers.integrations.urls"
    ):
        try:
            assert (await fetch(mode, "get", view)).json() == {"hit": False}
            assert (await fetch(mode, "get", view)).json() == {"hit": True}
            redis_server.kill()
            answered = await fetch(mode, "get", view)
            assert answered.status_code == 200 and answered.json() == {"hit": False}
            assert await guard.astate() == "open"
            assert (await fetch(mode, "get", view)).json() == {"hit": False}
            redis_server.start()
            assert (await fetch(mode, "get", view)).json() == {"hit": False}
            assert await guard.astate() == "open"
            clock.advance(31)
            assert (await fetch(mode, "get", view)).json() == {"hit": False}
            assert await guard.astate() == "closed"
            assert (await fetch(mode, "get", view)).json() == {"hit": True}
        finally:
            await caches[FAULT_CACHE].aclose()


def test_hung_redis_times_out_into_a_miss(
    redis_server: RedisServer, backend: str, guard: CircuitBreaker
) -> None:
    """A Redis that stops answering costs a socket timeout, then a miss, and counts as a failure."""
    params = entry(backend, redis_server.url, guard, "t")
    cache = BreakerCache(redis_server.url, params)
    try:
        cache.set("k", 1)
        redis_server.pause()
        assert cache.get("k", "miss") == "miss"
        assert cache.breaker.snapshot().failures == 1
    finally:
        redis_server.resume()
        cache.close()


def test_extra_failures_count_and_are_swallowed(clock: FakeClock) -> None:
    """Exceptions listed in OPTIONS['FAILURES'] count as the backend's failures and become misses."""
    guard = fake_breaker(clock, failure_threshold=1)
    options = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "BREAKER": guard,
        "FAILURES": ["builtins.ValueError"],
    }
    cache = BreakerCache("extra", {"OPTIONS": options})
    assert cache.incr("missing", 4) == 4
    assert guard.state == "open"


def test_breaker_is_named_cache_by_default_and_extras_pass_through() -> None:
    """Without BREAKER the process's 'cache' breaker is used; other attributes are the wrapped backend's."""
    options = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    cache = BreakerCache("names", {"OPTIONS": options})
    assert cache.breaker.name == "cache"
    cache.set("k", 1)
    assert cache.get("k") == 1
    assert cache._max_entries == 300  # BaseCache's own attribute
    assert cache.cache.__class__.__name__ == "LocMemCache"
    assert cache.get_backend_timeout(10) is not None
    assert cache._cache == cache.cache._cache  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs OPTIONS\\['BACKEND'\\]"),
        ({"BACKEND": "no.such.Backend"}, "no.such"),
        (
            {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "FAILURES": ["no.such.Error"],
            },
            "no.such",
        ),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    """A missing or unimportable wrapped backend or failure class raises ImproperlyConfigured."""
    with pytest.raises(ImproperlyConfigured, match=message):
        BreakerCache("bad", {"OPTIONS": options})


def test_a_copied_cache_still_works() -> None:
    """copy.copy() of a BreakerCache gives a working cache (attribute lookups do not recurse)."""
    import copy

    options = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    cache = BreakerCache("copied", {"OPTIONS": options})
    cache.set("k", 1)
    assert copy.copy(cache).get("k") == 1
