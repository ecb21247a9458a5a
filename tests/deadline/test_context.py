"""The deadline of the work in progress: set for a block, counted down on the clock, never lengthened."""

from __future__ import annotations

import asyncio
import math

import pytest

from django_stability.deadline import (
    DeadlineExceeded,
    check,
    current,
    deadline,
    remaining,
)
from tests.clock import FakeClock


def test_without_a_deadline_there_is_no_time_limit():
    """Outside any deadline remaining() is None and check() passes."""
    assert remaining() is None
    assert current() is None
    check()


def test_remaining_counts_down_on_the_clock():
    """Inside the block remaining() is the budget less the time spent; after it, None again."""
    clock = FakeClock()
    with deadline(5, clock=clock) as found:
        assert remaining() == 5
        clock.advance(2)
        assert remaining() == 3
        assert current() is found
        assert found.remaining_ms() == 3000
    assert remaining() is None


def test_check_raises_once_the_time_is_up():
    """check() is quiet while time is left and raises DeadlineExceeded at the deadline."""
    clock = FakeClock()
    with deadline(1, clock=clock):
        clock.advance(0.999)
        check()
        clock.advance(0.001)
        with pytest.raises(DeadlineExceeded) as stopped:
            check()
    assert stopped.value.budget == 1
    assert stopped.value.where == "check"


def test_an_inner_deadline_never_extends_the_outer_one():
    """A longer budget inside keeps the outer deadline; a shorter one applies until its block ends."""
    clock = FakeClock()
    with deadline(2, clock=clock):
        with deadline(10, clock=clock):
            assert remaining() == 2
        with deadline(0.5, clock=clock):
            assert remaining() == 0.5
        assert remaining() == 2


async def test_each_task_sees_its_own_deadline():
    """Concurrent tasks (concurrent requests under ASGI) do not share deadlines."""
    clock = FakeClock()

    async def budget(seconds: float) -> float | None:
        with deadline(seconds, clock=clock):
            await asyncio.sleep(0)
            return remaining()

    assert list(await asyncio.gather(budget(1), budget(2))) == [1.0, 2.0]


@pytest.mark.parametrize(
    ("seconds", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.inf, ValueError),
        (math.nan, ValueError),
        ("5", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_a_budget_must_be_a_positive_finite_number(seconds, error):
    """Zero, negative, infinite, NaN and non-numbers are refused."""
    with pytest.raises(error), deadline(seconds):
        pass  # pragma: no cover - never entered
