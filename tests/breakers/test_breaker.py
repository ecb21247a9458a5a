"""CircuitBreaker through its public API, sync and async, on memory and on Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from django_stability.breakers import (
    CircuitBreaker,
    CircuitOpenError,
    breaker_state_changed,
)
from django_stability.state import Engine
from tests.breakers.conftest import Boom, Declined
from tests.logcapture import capture_logs


class Api:
    """Calls through a breaker as a decorator, a context manager or ``call``, sync or async."""

    def __init__(self, style: str) -> None:
        self.style = style
        self.asynchronous = style.startswith("async")

    async def __call__(self, b: CircuitBreaker, fn: Any = None, *args: Any) -> Any:
        fn = fn or (lambda: "ok")
        if self.style == "decorator":
            return b(fn)(*args)
        if self.style == "with":
            with b:
                return fn(*args)
        if self.style == "call":
            return b.call(fn, *args)

        async def afn(*a: Any) -> Any:
            result = fn(*a)
            return await result if asyncio.iscoroutine(result) else result

        if self.style == "async-decorator":
            return await b(afn)(*args)
        if self.style == "async-with":
            async with b:
                return await afn(*args)
        return await b.acall(afn, *args)


STYLES = ["decorator", "with", "call", "async-decorator", "async-with", "async-call"]


@pytest.fixture(params=STYLES)
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


def raiser(exc: BaseException) -> Any:
    def fn(*args: Any) -> Any:
        raise exc

    return fn


async def fail(
    api: Api, b: CircuitBreaker, n: int = 1, exc: type[Exception] = Boom
) -> None:
    for _ in range(n):
        with pytest.raises(exc):
            await api(b, raiser(exc()))


async def state(api: Api, b: CircuitBreaker) -> str:
    return await b.astate() if api.asynchronous else b.state


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
    b = make_breaker(failure_threshold=1, exclude=["tests.breakers.conftest.Declined"])
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


async def test_a_closed_success_costs_no_store_call(clock):
    """Between refreshes a closed breaker decides alone: one store call per staleness period."""

    class CountingEngine(Engine):
        calls = 0

        def run(self, *args, **kwargs):
            CountingEngine.calls += 1
            return super().run(*args, **kwargs)

    from django_stability.breakers import BreakerConfig

    b = CircuitBreaker(
        "c", BreakerConfig(), clock=clock, engine=CountingEngine(clock=clock)
    )
    fn = b(lambda: 1)
    fn()
    before = CountingEngine.calls
    for _ in range(1_000):
        fn()
    assert CountingEngine.calls == before
    clock.advance(1.0)
    fn()
    assert CountingEngine.calls == before + 1
    assert b.snapshot().calls == 1_002


async def test_two_processes_share_one_breaker(make_breaker, clock):
    """Failures seen by one worker open the breaker for another within the staleness bound."""
    one, two = make_breaker("shared"), make_breaker("shared")
    assert two.state == "closed"
    await fail(Api("call"), one, 5)
    assert two.state == "closed"  # its view is still fresh
    clock.advance(1.0)
    assert two.state == "open"
    with pytest.raises(CircuitOpenError):
        two.call(lambda: 1)


async def test_successes_of_all_processes_count_in_the_rate(make_breaker, clock):
    """Each process's successes reach the shared window, so a rate is judged cluster-wide."""
    one, two = (
        make_breaker("rate", failure_rate=50, minimum_calls=10),
        make_breaker("rate", failure_rate=50, minimum_calls=10),
    )
    for _ in range(6):
        one.call(lambda: 1)
        two.call(lambda: 1)
    clock.advance(1.0)
    assert (one.state, two.state) == ("closed", "closed")  # both flush their successes
    await fail(Api("call"), one, 5)
    assert one.snapshot().as_json()["failure_rate"] == round(5 * 100 / 17, 2)
    assert one.state == "closed"


def test_signal_log_and_snapshot_on_transition(make_breaker, clock):
    """A transition sends breaker_state_changed once and logs one line with the breaker's name."""
    seen = []

    def receiver(sender, name, old, new, **kwargs):
        seen.append((name, old, new))

    breaker_state_changed.connect(receiver)
    try:
        b = make_breaker("sig", failure_threshold=2, reset_timeout=10)
        with capture_logs() as logs:
            for _ in range(3):
                with pytest.raises((Boom, CircuitOpenError)):
                    b.call(raiser(Boom()))
        assert seen == [("sig", "closed", "open")]
        line = logs.one("breaker_state_changed", breaker="sig")
        assert (line["old"], line["new"], line["level"]) == (
            "closed",
            "open",
            "warning",
        )
        data = b.snapshot().as_json()
        assert data["state"] == "open" and data["forced"] is None
        assert data["opened_at"].startswith("2027-01-15") and data["retry_at"]
        assert data["config"]["failure_threshold"] == 2
    finally:
        breaker_state_changed.disconnect(receiver)


async def test_async_signal_receivers_run(make_breaker):
    """Async receivers of breaker_state_changed are awaited on the async path."""
    seen = []

    async def receiver(sender, name, old, new, **kwargs):
        seen.append(new)

    breaker_state_changed.connect(receiver)
    try:
        b = make_breaker("asig", failure_threshold=1)
        await fail(Api("async-call"), b)
        assert seen == ["open"]
    finally:
        breaker_state_changed.disconnect(receiver)


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


def test_broken_bookkeeping_never_fails_the_call(clock):
    """If the store itself errors (not an outage), calls still run and the error is logged."""

    class BrokenEngine(Engine):
        def run(self, *args, **kwargs):
            raise RuntimeError("store bug")

    from django_stability.breakers import BreakerConfig

    b = CircuitBreaker(
        "broken",
        BreakerConfig(failure_threshold=1),
        clock=clock,
        engine=BrokenEngine(clock=clock),
    )
    with capture_logs() as logs:
        assert b.call(lambda: 5) == 5
        with pytest.raises(Boom):
            b.call(raiser(Boom()))
    assert logs.events("breaker_state_error", breaker="broken")


def test_works_process_locally_when_redis_is_unreachable(clock):
    """With Redis unreachable the breaker still trips (on process-local state) and says so."""
    from django_stability.breakers import BreakerConfig
    from tests.fixtures.redis_server import free_port

    engine = Engine(
        f"redis://127.0.0.1:{free_port()}/0", clock=clock, connect_timeout=0.2
    )
    b = CircuitBreaker(
        "local", BreakerConfig(failure_threshold=2), clock=clock, engine=engine
    )
    with capture_logs() as logs:
        for _ in range(2):
            with pytest.raises(Boom):
                b.call(raiser(Boom()))
        assert b.state == "open"
    assert logs.events("breaker_process_local", breaker="local")
    engine.close()


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


def test_metrics_count_transitions_calls_and_state(make_breaker, clock):
    """Prometheus sees each transition once, the calls by outcome, and the state as a gauge."""
    from prometheus_client import REGISTRY

    def value(metric: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    name = f"metrics-{id(clock)}"
    b = make_breaker(name, failure_threshold=2, reset_timeout=5)
    for _ in range(3):
        b.call(lambda: 1)
    for _ in range(2):
        with pytest.raises(Boom):
            b.call(raiser(Boom()))
    with pytest.raises(CircuitOpenError):
        b.call(lambda: 1)
    assert value("stability_breaker_transitions_total", breaker=name, to="open") == 1
    assert value("stability_breaker_state", breaker=name) == 1
    assert value("stability_breaker_calls_total", breaker=name, outcome="failure") == 2
    assert value("stability_breaker_calls_total", breaker=name, outcome="rejected") == 1
    assert value("stability_breaker_calls_total", breaker=name, outcome="success") == 3
    clock.advance(5)
    b.call(lambda: 1)
    assert value("stability_breaker_state", breaker=name) == 0
    assert value("stability_breaker_transitions_total", breaker=name, to="closed") == 1
