"""The built-in operations and custom Operations behave the same on memory and Redis, sync and async."""

from __future__ import annotations

import pytest

from django_stability.state import (
    GET,
    INCR,
    Engine,
    MemoryStore,
    Operation,
    WindowCount,
)
from tests.clock import FakeClock
from tests.state.conftest import Api


async def test_set_then_get_returns_the_value(api: Api, clock: FakeClock) -> None:
    """A stored value is read back as stored."""
    assert await api("set", "flag", "on", now=clock()) is True
    assert await api("get", "flag", now=clock()) == "on"


async def test_get_of_a_missing_key_is_none(api: Api, clock: FakeClock) -> None:
    """Reading a key nobody wrote gives None, not an error."""
    assert await api("get", "nothing-here", now=clock()) is None


async def test_value_expires_exactly_at_its_ttl_on_the_callers_clock(
    api: Api, clock: FakeClock
) -> None:
    """A value set with ttl=5 is visible until now+5 on the caller's clock, then gone."""
    await api("set", "drain", "1", now=clock(), ttl=5)
    clock.advance(4.999)
    assert await api("get", "drain", now=clock()) == "1"
    clock.advance(0.001)
    assert await api("get", "drain", now=clock()) is None


async def test_value_without_ttl_never_expires(api: Api, clock: FakeClock) -> None:
    """A value set without ttl is still there days later."""
    await api("set", "drain", "1", now=clock())
    clock.advance(86_400 * 30)
    assert await api("get", "drain", now=clock()) == "1"


async def test_overwrite_replaces_value_and_drops_old_ttl(
    api: Api, clock: FakeClock
) -> None:
    """Setting again without ttl makes a value permanent, like Redis SET."""
    await api("set", "k", "old", now=clock(), ttl=1)
    await api("set", "k", "new", now=clock())
    clock.advance(10)
    assert await api("get", "k", now=clock()) == "new"


async def test_only_if_absent_refuses_a_live_value_and_takes_an_expired_one(
    api: Api, clock: FakeClock
) -> None:
    """only_if_absent acts as a lock: the first caller wins until the value expires."""
    assert (
        await api("set", "lock", "a", now=clock(), ttl=2, only_if_absent=True) is True
    )
    assert (
        await api("set", "lock", "b", now=clock(), ttl=2, only_if_absent=True) is False
    )
    assert await api("get", "lock", now=clock()) == "a"
    clock.advance(2)
    assert (
        await api("set", "lock", "b", now=clock(), ttl=2, only_if_absent=True) is True
    )
    assert await api("get", "lock", now=clock()) == "b"


async def test_delete_removes_several_keys_and_ignores_missing_ones(
    api: Api, clock: FakeClock
) -> None:
    """delete() takes many keys and does not mind keys that do not exist."""
    await api("set", "a", "1", now=clock())
    await api("set", "b", "2", now=clock())
    await api("delete", "a", "b", "never-set")
    assert await api("get", "a", now=clock()) is None
    assert await api("get", "b", now=clock()) is None


async def test_incr_counts_within_a_window_and_restarts_after_it(
    api: Api, clock: FakeClock
) -> None:
    """A fixed-window counter counts hits and the time left, then starts over."""
    assert await api("incr", "ip:1", now=clock(), window=10) == WindowCount(1, 10.0)
    clock.advance(2.5)
    assert await api("incr", "ip:1", now=clock(), window=10) == WindowCount(2, 7.5)
    clock.advance(7.499)
    assert await api("incr", "ip:1", now=clock(), window=10) == WindowCount(3, 0.001)
    clock.advance(0.001)
    assert await api("incr", "ip:1", now=clock(), window=10) == WindowCount(1, 10.0)


async def test_incr_amount_and_independent_keys(api: Api, clock: FakeClock) -> None:
    """amount adds more than one, and each key has its own window."""
    assert (await api("incr", "a", now=clock(), window=1, amount=5)).hits == 5
    assert (await api("incr", "a", now=clock(), window=1, amount=2)).hits == 7
    assert (await api("incr", "b", now=clock(), window=1)).hits == 1


async def test_incr_after_a_clock_step_back_never_reports_more_than_the_window(
    api: Api, clock: FakeClock
) -> None:
    """A caller whose clock lags the window's opener still sees at most `window` left."""
    await api("incr", "skew", now=clock(), window=10)
    assert await api("incr", "skew", now=clock() - 3, window=10) == WindowCount(2, 10.0)


def _echo_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[str]:
    return [*keys, *args]


ECHO = Operation("echo", "local out = {} for _, k in ipairs(KEYS) do out[#out + 1] = k end "
                 "for _, a in ipairs(ARGV) do out[#out + 1] = a end return out", _echo_local)  # fmt: skip


async def test_arguments_reach_lua_and_python_as_the_same_strings(api: Api) -> None:
    """ints, floats and strings arrive as text, identically on both backends (keys unprefixed in Python)."""
    reply = await api("run", ECHO, ["k"], [1, 2.5, "x", -7, 1e-05])
    assert reply[1:] == ["1", "2.5", "x", "-7", "1e-05"]


def _mixed_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[object]:
    return [1, "a", 2.7, True, False, None, 5]


MIXED = Operation("mixed", "return {1, 'a', 2.7, true, false, nil, 5}", _mixed_local)


async def test_replies_follow_redis_lua_conversion_on_both_backends(api: Api) -> None:
    """Floats truncate, true is 1, false is nil, and an array stops at its first nil."""
    assert await api("run", MIXED, ["k"]) == [1, "a", 2, 1, None]


def _cas_local(store: MemoryStore, keys: list[str], args: list[str]) -> int:
    if (store.get(keys[0]) or "") != args[0]:
        return 0
    store.set(keys[0], args[1])
    return 1


CAS = Operation(
    "cas",
    "if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[2]) return 1",
    _cas_local,
    bool,
)


async def test_a_custom_operation_is_atomic_compare_and_set_on_both_backends(
    api: Api,
) -> None:
    """An Operation written by a feature (here compare-and-set) behaves alike on each backend."""
    assert await api("run", CAS, ["state"], ["", "closed"]) is True
    assert await api("run", CAS, ["state"], ["open", "half_open"]) is False
    assert await api("run", CAS, ["state"], ["closed", "open"]) is True


@pytest.mark.parametrize(
    ("keys", "error"),
    [("key", TypeError), ([b"key"], TypeError), ([1], TypeError), ([""], ValueError)],
)
async def test_bad_keys_are_rejected_before_any_backend(
    api: Api, keys: object, error: type[Exception]
) -> None:
    """A bare string, bytes, a number or an empty name as keys raises, on every backend alike."""
    with pytest.raises(error):
        await api("run", GET, keys, [0])


@pytest.mark.parametrize("args", ["12", [True], [None], [b"x"], [[1]]])
async def test_bad_arguments_are_rejected_before_any_backend(
    api: Api, args: object
) -> None:
    """Booleans, None, bytes, nested lists or a bare string as args raise TypeError."""
    with pytest.raises(TypeError):
        await api("run", INCR, ["k"], args)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"value": 1}, TypeError),
        ({"ttl": 0}, ValueError),
        ({"ttl": -5}, ValueError),
        ({"ttl": float("nan")}, TypeError),
        ({"now": "now"}, TypeError),
        ({"now": True}, TypeError),
        ({"now": float("inf")}, TypeError),
    ],
)
async def test_set_rejects_bad_values_ttls_and_clocks(
    api: Api, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """set() refuses non-text values, non-positive or non-finite ttls and non-numeric clocks."""
    call = {"value": "v", "now": 1.0, "ttl": 1.0, **kwargs}
    with pytest.raises(error):
        await api("set", "k", call.pop("value"), **call)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"window": 0}, ValueError),
        ({"window": -1}, ValueError),
        ({"amount": 1.5}, TypeError),
        ({"amount": True}, TypeError),
    ],
)
async def test_incr_rejects_bad_windows_and_amounts(
    api: Api, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """incr() needs a positive window and an int amount."""
    with pytest.raises(error):
        await api("incr", "k", **{"now": 1.0, "window": 1.0, **kwargs})


async def test_delete_without_keys_is_an_error(api: Api) -> None:
    """delete() with no key is a caller bug, reported as TypeError."""
    with pytest.raises(TypeError):
        await api("delete")


def test_an_operation_returning_something_redis_cannot_is_rejected_in_memory() -> None:
    """A Python twin returning a dict fails loudly, as its Lua twin could not return one."""
    bad = Operation("bad", "return 1", lambda store, keys, args: {"a": 1})
    with pytest.raises(TypeError, match="dict"):
        Engine().run(bad, ["k"])


def test_operation_carries_the_sha1_evalsha_needs() -> None:
    """An Operation knows its script's SHA1 (what Redis SCRIPT LOAD would answer)."""
    assert (
        Operation("one", "return 1", lambda s, k, a: 1).sha
        == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
    )
    assert (
        repr(Operation("one", "return 1", lambda s, k, a: 1))
        == "<Operation one e0e1f9fa>"
    )


async def test_get_on_a_counter_key_is_none_not_an_error(
    api: Api, clock: FakeClock
) -> None:
    """Reading a counter's key as a value gives None on both backends instead of a type error."""
    await api("incr", "mixed-use", now=clock(), window=10)
    assert await api("get", "mixed-use", now=clock()) is None


async def test_expiry_follows_the_callers_clock_not_the_stores(
    api: Api, clock: FakeClock
) -> None:
    """A caller whose clock runs ahead of the engine's sees a value expire on its own time."""
    await api("set", "k", "v", now=clock(), ttl=5)
    assert await api("get", "k", now=clock() + 5) is None
    assert await api("get", "k", now=clock() + 4) == "v"
