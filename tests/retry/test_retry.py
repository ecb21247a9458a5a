"""Retries as a decorator, a loop of attempts or a call, sync and async: what is retried, how often, and why not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stamina

from django_stability.breakers import BreakerConfig, CircuitBreaker, CircuitOpenError
from django_stability.retry import Retry, retry
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.retry.support import STYLES, Dependency, Style, outcomes

# No wait between attempts, and no budget unless a test sets one.
FAST = {"wait_initial": 0, "wait_max": 0, "budget": None}


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> Style:
    return Style(request.param)


@pytest.fixture
def configure(settings: Any, name: str) -> Any:
    """``configure(**options)``: this test's retry name with ``FAST`` plus ``options``."""

    def configure(**options: Any) -> None:
        settings.STABILITY_RETRIES = {name: {**FAST, **options}}

    return configure


def make(name: str, clock: FakeClock, engine: Engine, **overrides: Any) -> Retry:
    return Retry(name, clock=clock, engine=engine, **overrides)


async def test_a_failure_is_retried_until_the_call_succeeds(
    style, configure, name, clock, engine
):
    """Two connection errors, then success: three attempts, the answer returned, counted as recovered."""
    configure(attempts=3)
    dependency = Dependency(failures=2)
    assert await style(make(name, clock, engine), dependency) == "ok"
    assert dependency.calls == 3
    assert outcomes(name) == {"retried": 2, "recovered": 1}


async def test_attempts_bound_the_retries(style, configure, name, clock, engine):
    """A dependency that always fails is tried ``attempts`` times, then its last error is raised."""
    configure(attempts=4)
    dependency = Dependency()
    with pytest.raises(ConnectionError):
        await style(make(name, clock, engine), dependency)
    assert dependency.calls == 4
    assert outcomes(name) == {"retried": 3, "exhausted": 1}


async def test_a_success_at_once_counts_nothing(style, configure, name, clock, engine):
    """A call that succeeds first time is neither retried nor counted."""
    configure()
    assert await style(make(name, clock, engine), Dependency(failures=0)) == "ok"
    assert outcomes(name) == {}


async def test_errors_outside_on_are_raised_at_once(
    style, configure, name, clock, engine
):
    """Only the exceptions of ``on`` are retried: a ValueError is the caller's, raised at once."""
    configure(on=["builtins.ConnectionError"])
    dependency = Dependency(ValueError("bad input"))
    with pytest.raises(ValueError):
        await style(make(name, clock, engine), dependency)
    assert dependency.calls == 1
    assert outcomes(name) == {}


async def test_circuit_open_error_is_never_retried(
    style, configure, name, clock, engine
):
    """A refused call is not retried, even when ``on`` names every exception."""
    configure(on=["builtins.Exception"], attempts=5)
    dependency = Dependency(CircuitOpenError("payments", None, clock()))
    with pytest.raises(CircuitOpenError):
        await style(make(name, clock, engine), dependency)
    assert dependency.calls == 1
    assert outcomes(name) == {"breaker_open": 1}


def fake_breaker(clock: FakeClock, engine: Engine) -> CircuitBreaker:
    """A breaker that opens on the second failure, on the test's clock and engine."""
    config = BreakerConfig.from_options("payments", {"failure_threshold": 2})
    return CircuitBreaker("payments", config, clock=clock, engine=engine)


@pytest.mark.parametrize("asks", [True, False], ids=["named", "through-only"])
async def test_retries_stop_once_the_breaker_opens(
    style, configure, name, clock, engine, asks
):
    """Each attempt through a breaker that opens on the 2nd failure: no 3rd attempt reaches the dependency.

    A retry that names the breaker stops as soon as it opens and raises the
    dependency's error; one that does not is refused on its 3rd attempt with
    ``CircuitOpenError``, which is not retried either.
    """
    configure(attempts=10)
    guard = fake_breaker(clock, engine)
    dependency = Dependency()
    retrying = make(name, clock, engine, breaker=guard if asks else None)
    expected = ConnectionError if asks else CircuitOpenError
    with pytest.raises(expected):
        await style(retrying, Through(guard, dependency))
    assert dependency.calls == 2
    assert guard.state == "open"
    assert outcomes(name) == {"retried": 1 if asks else 2, "breaker_open": 1}


class Through:
    """The dependency called through a breaker, the way ``@breaker`` under ``@retry`` calls it."""

    def __init__(self, guard: CircuitBreaker, dependency: Dependency) -> None:
        self.guard = guard
        self.dependency = dependency

    def __call__(self, *args: Any) -> str:
        return self.guard.call(self.dependency)

    async def acall(self, *args: Any) -> str:
        return await self.guard.acall(self.dependency.acall)


async def test_no_retry_while_the_named_breaker_is_open(
    style, configure, name, clock, engine
):
    """An operator forced the breaker open: a failure is raised at once, the breaker untouched."""
    configure(attempts=5)
    guard = fake_breaker(clock, engine)
    guard.command("open")
    dependency = Dependency()
    with pytest.raises(ConnectionError):
        await style(make(name, clock, engine, breaker=guard), dependency)
    assert dependency.calls == 1
    assert outcomes(name) == {"breaker_open": 1}


async def test_timeout_ends_the_retries(style, configure, name, clock, engine):
    """Once ``timeout`` seconds have passed since the first attempt, no retry starts."""
    configure(attempts=10, timeout=5)
    dependency = Dependency()
    with pytest.raises(ConnectionError):
        await style(make(name, clock, engine), Timed(clock, dependency))
    assert dependency.calls == 2  # 0 s, 3 s, then 6 s have passed: no third attempt
    assert outcomes(name) == {"retried": 1, "exhausted": 1}


class Timed:
    """A dependency whose every call takes three seconds of the fake clock."""

    def __init__(self, clock: FakeClock, dependency: Dependency) -> None:
        self.clock = clock
        self.dependency = dependency

    def __call__(self, *args: Any) -> str:
        self.clock.advance(3)
        return self.dependency()

    async def acall(self, *args: Any) -> str:
        return self(*args)


async def test_cancellation_is_never_retried(configure, name, clock, engine):
    """An async call cancelled mid-attempt is cancelled, not tried again."""
    configure(on=["builtins.BaseException"], attempts=5)
    dependency = Dependency(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await make(name, clock, engine).acall(dependency.acall)
    assert dependency.calls == 1


def test_stamina_deactivated_means_one_attempt(configure, name, clock, engine):
    """``stamina.set_active(False)`` (as in a project's tests) turns retries off, budget untouched."""
    configure(attempts=5, budget=0.1)
    dependency = Dependency()
    stamina.set_active(False)
    try:
        with pytest.raises(ConnectionError):
            make(name, clock, engine).call(dependency)
    finally:
        stamina.set_active(True)
    assert dependency.calls == 1
    assert outcomes(name) == {"exhausted": 1}


def test_a_decorated_function_follows_settings_changes(settings, name):
    """The attempts of ``@retry(name)`` come from the settings of the moment, not of the decoration."""
    dependency = Dependency()
    decorated = retry(name)(dependency)
    settings.STABILITY_RETRIES = {name: {**FAST, "attempts": 2}}
    with pytest.raises(ConnectionError):
        decorated()
    settings.STABILITY_RETRIES = {name: {**FAST, "attempts": 4}}
    with pytest.raises(ConnectionError):
        decorated()
    assert dependency.calls == 2 + 4


def test_the_decorator_keeps_the_function_s_name():
    """``@retry`` keeps the name and docstring of what it decorates."""

    @retry("x")
    def fetch() -> None:
        """Fetch it."""

    assert (fetch.__name__, fetch.__doc__) == ("fetch", "Fetch it.")


def test_generators_are_refused():
    """A generator cannot be retried by re-running it: decorating one is an error."""

    def numbers() -> Any:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        retry("x")(numbers)


@pytest.mark.parametrize("bad", ["", "has space", ".", "x" * 201, 7])
def test_invalid_names_are_refused(bad):
    """Names go into shared keys and metric labels: 1-200 characters of [A-Za-z0-9._:-]."""
    with pytest.raises(ValueError, match="retry names are"):
        retry(bad)


def test_a_name_without_settings_uses_the_defaults(name):
    """A retry not in STABILITY_RETRIES makes 3 attempts on connection errors and timeouts."""
    config = retry(name).config
    assert (config.attempts, config.on, config.budget) == (
        3,
        (ConnectionError, TimeoutError),
        0.1,
    )


async def test_a_loop_whose_block_does_not_return_ends_after_the_success(
    configure, name, clock, engine
):
    """stamina's idiom without ``return``: the loop ends by itself once an attempt succeeds."""
    configure(attempts=5)
    dependency = Dependency(failures=1)
    results = []
    for attempt in make(name, clock, engine):
        with attempt:
            results.append(dependency())
    async for attempt in make(name, clock, engine):
        with attempt:
            results.append(await dependency.acall())
    assert results == ["ok", "ok"]
    assert dependency.calls == 3
    assert outcomes(name) == {"retried": 1, "recovered": 1}


def test_stamina_retries_of_other_code_are_not_counted(name):
    """Our hook in stamina's instrumentation counts our retries only, not a plain stamina.retry's."""
    dependency = Dependency(failures=1)
    plain = stamina.retry(on=ConnectionError, attempts=2, wait_initial=0, wait_max=0)
    assert plain(dependency)() == "ok"
    retry(name).call(Dependency(failures=0))  # our hook is installed by now
    assert plain(Dependency(failures=1))() == "ok"
    assert outcomes(name) == {}


def test_a_retry_shows_its_name():
    """``repr()`` names the retry, for logs and debuggers."""
    assert repr(retry("payments")) == "<Retry 'payments'>"
