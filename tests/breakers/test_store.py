"""The Lua script and its Python twin decide identically, event for event."""

from __future__ import annotations

import random
from typing import Any

import pytest

from django_stability.breakers import BreakerConfig
from django_stability.breakers import _machine as m
from django_stability.breakers._store import STEP, keys_for
from django_stability.state import Engine
from tests.state.conftest import redis_engine

EVENTS = [m.REPORT, m.REPORT, m.REPORT, m.ACQUIRE, m.TRIAL, m.COMMAND]


def script(seed: int, count: int = 400) -> list[tuple[int, list[Any]]]:
    """A reproducible random sequence of events, with the time moving on irregularly."""
    rng = random.Random(seed)
    now = 1_800_000_000_000
    events = []
    tokens = ["t1", "t2", "t3"]
    for _ in range(count):
        now += rng.choice([0, 1, 50, 400, 1_500, 7_000])
        mode = rng.choice(EVENTS)
        calls = rng.randint(0, 5)
        failures = rng.randint(0, calls)
        slow = rng.randint(0, calls)
        outcome = rng.randint(0, 2) if mode == m.TRIAL else rng.randint(1, 4)
        if mode == m.COMMAND and rng.random() < 0.7:
            continue  # operators act rarely
        events.append(
            (now, [now, mode, calls, failures, slow, rng.choice(tokens), outcome])
        )
    return events


LIMITS = [
    {"failure_threshold": 3, "window": 5, "reset_timeout": 2},
    {"failure_rate": 40, "minimum_calls": 6, "window": 10, "reset_timeout": 3,
     "half_open_max_calls": 2, "success_threshold": 3},
    {"slow_call_seconds": 1, "slow_call_rate": 30, "minimum_calls": 4, "window": 3,
     "reset_timeout": 1, "half_open_max_calls": 3},
]  # fmt: skip


@pytest.mark.redis
@pytest.mark.parametrize("options", LIMITS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lua_and_python_twin_give_the_same_replies(options, seed):
    """Hundreds of mixed events produce the same reply from Redis and from process memory."""
    limits = BreakerConfig.from_options("b", options).limits().args()
    keys = keys_for("twin")
    memory = Engine()
    with redis_engine() as shared:
        for _, args in script(seed):
            expected = memory.run(STEP, keys, [*args, *limits])
            got = shared.run(STEP, keys, [*args, *limits])
            assert got == expected, args
    # The scripts reached every state, or the comparison proves little.
    states = {memory.run(STEP, keys, [*a, *limits]).state for _, a in script(seed)}
    assert states >= {m.CLOSED, m.OPEN}


@pytest.mark.redis
def test_an_unknown_mode_is_a_script_error_not_an_outage():
    """A bad mode raises from Redis (a bug to see), while memory raises ValueError."""
    import redis

    limits = BreakerConfig().limits().args()
    with (
        redis_engine() as shared,
        pytest.raises(redis.ResponseError, match="unknown breaker event mode"),
    ):
        shared.run(STEP, keys_for("x"), [1, "?", 0, 0, 0, "", 0, *limits])
    with pytest.raises(ValueError, match="unknown breaker event mode"):
        Engine().run(STEP, keys_for("x"), [1, "?", 0, 0, 0, "", 0, *limits])


def test_keys_share_a_hash_tag():
    """Both keys of a breaker carry the same ``{name}`` hash tag."""
    assert keys_for("db") == ["breaker:{db}", "breaker:{db}:trials"]
