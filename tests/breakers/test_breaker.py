"""CircuitBreaker through its public API, sync and async, on memory and on Redis."""

from __future__ import annotations

import asyncio

import pytest

from django_stability.breakers import CircuitOpenError
from tests.breakers.support import STYLES, Api, Boom, Declined, fail, raiser, state


@pytest.fixture(params=STYLES)
def api(request: pytest.FixtureRequest) -> Api:
    """Each way of calling through a breaker: decorator, ``with``, ``call``, sync and async."""
    return Api(request.param)


async def test_successes_pass_through_and_keep_it_closed(api, make_breaker):
    """A working dependency's results come back unchanged and the breaker stays closed."""
    b = make_breaker(failure_threshold=2)
    assert [await api(b) for _ in range(20)] == ["ok"] * 20
    assert await state(api, b) == "closed"


async def test_failures_open_it_and_calls_are_refused(api, make_breaker, clock):
    """After ``failure_threshold`` failures the next call raises CircuitOpenError with Retry-After."""
    b = make_breaker(failure_threshold=3, reset_timeout=30)
    await fail(api, b, 3)
    assert await state(api, b) == "open"
    clock.advance(10)
    with pytest.raises(CircuitOpenError) as caught:
        await api(b)
    assert caught.value.retry_after == 20
    assert caught.value.name == "b"


async def test_half_open_trial_success_closes(api, make_breaker, clock):
    """After the reset timeout one trial runs; its success (``success_threshold=1``) closes it."""
    b = make_breaker(failure_threshold=1, reset_timeout=5)
    await fail(api, b)
    clock.advance(5)
    assert await api(b) == "ok"
    assert await state(api, b) == "closed"


async def test_half_open_trial_failure_reopens(api, make_breaker, clock):
    """A failing trial reopens the breaker for another full reset timeout."""
    b = make_breaker(failure_threshold=1, reset_timeout=5)
    await fail(api, b)
    clock.advance(5)
    await fail(api, b)
    clock.advance(4)
    with pytest.raises(CircuitOpenError) as caught:
        await api(b)
    assert caught.value.retry_after == 1


async def test_only_one_trial_while_it_runs(make_breaker, clock):
    """With ``half_open_max_calls=1`` a second call during a running trial is refused."""
    b = make_breaker(failure_threshold=1, reset_timeout=5)
    await fail(Api("with"), b)
    clock.advance(5)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def trial() -> None:
        async with b:
            entered.set()
            await release.wait()

    task = asyncio.create_task(trial())
    await entered.wait()
    with pytest.raises(CircuitOpenError):
        async with b:
            pass
    release.set()
    await task
    assert await b.astate() == "closed"


async def test_excluded_exceptions_do_not_count(api, make_breaker):
    """Exceptions listed in ``exclude`` propagate but never open the breaker."""
    b = make_breaker(failure_threshold=1, exclude=[Declined])
    await fail(api, b, 5, Declined)
    assert await state(api, b) == "closed"


async def test_excluded_by_dotted_path(make_breaker):
    """``exclude`` accepts dotted paths, as in settings."""
    b = make_breaker(failure_threshold=1, exclude=["tests.breakers.support.Declined"])
    await fail(Api("call"), b, 3, Declined)
    assert b.state == "closed"


async def test_fallback_answers_while_open(api, make_breaker):
    """With a ``fallback``, refused decorated calls and ``call()`` get its answer, with the arguments."""
    b = make_breaker(failure_threshold=1, fallback=lambda *a: ("fallback", a))
    await fail(api, b)
    if api.style in ("with", "async-with"):
        with pytest.raises(
            CircuitOpenError
        ):  # a with-block has no return value to replace
            await api(b)
    else:
        assert await api(b, lambda x: x, 7) == ("fallback", (7,))


async def test_async_fallback_is_awaited(make_breaker):
    """An async fallback's result is awaited for async calls."""

    async def later(*args):
        return "queued"

    b = make_breaker(failure_threshold=1, fallback=later)
    await fail(Api("async-call"), b)
    assert await Api("async-decorator")(b) == "queued"


@pytest.mark.parametrize("style", ["async-decorator", "async-with", "async-call"])
async def test_call_timeout_cancels_and_counts_a_failure(style, make_breaker):
    """An async call over ``call_timeout`` raises TimeoutError and counts as a failure."""
    b = make_breaker(failure_threshold=2, call_timeout=0.01)

    async def hang():
        await asyncio.sleep(30)

    for _ in range(2):
        with pytest.raises(TimeoutError):
            await Api(style)(b, hang)
    assert await b.astate() == "open"


async def test_cancellation_is_not_a_failure(make_breaker):
    """A caller cancelling its own call (CancelledError) does not count against the dependency."""
    b = make_breaker(failure_threshold=1)

    @b
    async def slow():
        await asyncio.sleep(30)

    task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await b.astate() == "closed"


async def test_slow_calls_open_it(api, make_breaker, clock):
    """Calls slower than ``slow_call_seconds`` at ``slow_call_rate`` open the breaker."""
    b = make_breaker(slow_call_seconds=2, slow_call_rate=50, minimum_calls=4)

    def slow():
        clock.advance(3)
        return "late"

    for _ in range(2):
        assert await api(b) == "ok"
    for _ in range(2):
        assert await api(b, slow) == "late"
    assert await state(api, b) == "open"


async def test_a_slow_trial_reopens(make_breaker, clock):
    """A trial that succeeds too slowly is a failed trial."""
    b = make_breaker(failure_threshold=1, slow_call_seconds=1, reset_timeout=5)
    await fail(Api("call"), b)
    clock.advance(5)

    def slow():
        clock.advance(2)

    b.call(slow)
    assert b.state == "open"


def test_operator_commands(make_breaker, clock):
    """open, close, reset and release drive the shared state as the admin expects."""
    b = make_breaker("ops", failure_threshold=1)
    assert b.command("open").forced == "open"
    with pytest.raises(CircuitOpenError) as caught:
        b.call(lambda: 1)
    assert caught.value.retry_after is None
    clock.advance(3600)
    assert b.state == "open"
    assert b.command("close").as_json()["forced"] == "closed"
    for _ in range(3):
        with pytest.raises(Boom):
            b.call(raiser(Boom()))
    assert b.state == "closed"
    assert b.command("release").forced is None
    assert b.command("reset").calls == 0
    with pytest.raises(ValueError, match="unknown breaker action"):
        b.command("explode")


async def test_async_operator_commands(make_breaker):
    """The async twins of command and snapshot see the same state."""
    b = make_breaker("aops")
    assert (await b.acommand("open")).state == "open"
    assert (await b.asnapshot()).forced == "open"
    with pytest.raises(ValueError):
        await b.acommand("nope")


def test_repr_names_breaker_and_state(make_breaker):
    """The repr shows the name and the cached state."""
    assert repr(make_breaker("r")) == "<CircuitBreaker 'r' closed>"


def test_state_names(make_breaker, clock):
    """The half-open state reads as ``half_open``."""
    b = make_breaker("h", failure_threshold=1, reset_timeout=1, success_threshold=2)
    with pytest.raises(Boom):
        b.call(raiser(Boom()))
    clock.advance(1)
    b.call(lambda: 1)
    assert b.state == "half_open"
    assert b.snapshot().in_flight_trials == 0
