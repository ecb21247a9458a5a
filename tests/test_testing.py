"""django_stability.testing: forcing breakers in a user's tests, sync and async."""

from __future__ import annotations

import pytest

from django_stability.breakers import CircuitOpenError, _forced, breaker, operate
from django_stability.models import Breaker
from django_stability.testing import force_breaker, reset_breakers
from tests.breakers.names import fresh


class Boom(Exception):
    """The protected dependency failed."""


def boom() -> None:
    raise Boom


class DatabaseGuard:
    """Stands in for the breakers' database read; fails the test unless ``allowed``."""

    allowed = False

    def __call__(self, name: str) -> str | None:
        if not self.allowed:
            raise AssertionError(f"breaker {name!r} read the database")
        return None


@pytest.fixture(autouse=True)
def no_database(monkeypatch: pytest.MonkeyPatch) -> DatabaseGuard:
    """Fail any test here that makes a breaker read its forced state from the database."""
    guard = DatabaseGuard()
    monkeypatch.setattr(_forced, "_read", guard)
    return guard


def test_the_guard_catches_a_database_read():
    """A breaker's first read would consult the database: the guard of these tests fails it."""
    with pytest.raises(AssertionError, match="read the database"):
        breaker(fresh("testing")).snapshot()


def test_forced_open_refuses_calls_and_is_released_after():
    """Inside ``with force_breaker(name, "open")`` calls are refused; after it they pass again."""
    name = fresh("testing")
    with force_breaker(name, "open") as forced:
        assert forced.name == name
        assert breaker(name).state == "open"
        assert breaker(name).snapshot().forced == "open"
        with pytest.raises(CircuitOpenError):
            breaker(name).call(lambda: "ok")
    assert breaker(name).state == "closed"
    assert breaker(name).snapshot().forced is None
    assert breaker(name).call(lambda: "ok") == "ok"


def test_forced_closed_lets_failures_through_without_opening(settings):
    """A breaker forced closed stays closed whatever fails, and counts from zero after."""
    name = fresh("testing")
    settings.STABILITY_BREAKERS = {name: {"failure_threshold": 1}}
    with force_breaker(name, "closed"):
        for _ in range(3):
            with pytest.raises(Boom):
                breaker(name).call(boom)
        assert breaker(name).state == "closed"
        assert breaker(name).snapshot().forced == "closed"
    snapshot = breaker(name).snapshot()
    assert (snapshot.state, snapshot.forced, snapshot.failures) == ("closed", None, 0)
    with pytest.raises(Boom):
        breaker(name).call(boom)
    assert breaker(name).state == "open"  # the threshold of 1 applies again
    reset_breakers()


def test_decorates_a_sync_function():
    """As a decorator of a sync function the breaker is forced while it runs, and only then."""
    name = fresh("testing")

    @force_breaker(name, "open")
    def inside() -> str:
        return breaker(name).state

    assert inside.__name__ == "inside"
    assert inside() == "open"
    assert breaker(name).state == "closed"
    assert inside() == "open"  # reusable


async def test_decorates_an_async_function_and_works_with_async_with():
    """Async functions and ``async with`` force the breaker through the async path."""
    name = fresh("testing")

    @force_breaker(name, "open")
    async def inside() -> str:
        return await breaker(name).astate()

    assert await inside() == "open"
    assert await breaker(name).astate() == "closed"
    async with force_breaker(name, "open"):

        @breaker(name)
        async def call() -> str:
            return "ok"

        with pytest.raises(CircuitOpenError):
            await call()
    assert await call() == "ok"


def test_nested_forces_put_back_the_state_they_found():
    """An inner force restores the outer forced state, the outer one releases."""
    name = fresh("testing")
    with force_breaker(name, "open"):
        with force_breaker(name, "closed"):
            assert breaker(name).snapshot().forced == "closed"
        assert breaker(name).snapshot().forced == "open"
        assert breaker(name).state == "open"
    assert breaker(name).snapshot().forced is None


def test_one_instance_can_be_entered_twice():
    """Re-entering one force_breaker object keeps a stack of what each entry found."""
    name = fresh("testing")
    forced = force_breaker(name, "closed")
    with forced, forced:
        assert breaker(name).snapshot().forced == "closed"
    assert breaker(name).snapshot().forced is None


def test_exceptions_still_restore():
    """The forced state ends even when the block raises."""
    name = fresh("testing")
    with pytest.raises(Boom), force_breaker(name, "open"):
        raise Boom
    assert breaker(name).state == "closed"


@pytest.mark.parametrize("state", ["half_open", "close", "", None])
def test_other_states_are_refused(state):
    """Only "open" and "closed" can be forced."""
    with pytest.raises(ValueError, match="forces 'open' or 'closed'"):
        force_breaker(fresh("testing"), state)


def test_bad_names_are_refused_at_once():
    """An invalid breaker name fails when the helper is built, not inside the test."""
    with pytest.raises(ValueError, match="breaker names"):
        force_breaker("no spaces", "open")


def test_reset_breakers_closes_and_clears_every_breaker(settings, no_database):
    """reset_breakers() releases forced states and clears counters of configured and used breakers."""
    used, configured = fresh("testing"), fresh("testing")
    settings.STABILITY_BREAKERS = {configured: {"failure_threshold": 1}}
    no_database.allowed = True  # a first use reads the database, as in production
    breaker(used).command("open")
    with pytest.raises(Boom):
        breaker(configured).call(boom)
    assert breaker(configured).state == "open"
    no_database.allowed = False
    reset_breakers()
    for name in (used, configured):
        snapshot = breaker(name).snapshot()
        assert (snapshot.state, snapshot.forced, snapshot.failures) == (
            "closed",
            None,
            0,
        )


@pytest.mark.django_db
def test_helpers_leave_the_database_alone(monkeypatch):
    """An operator's persisted forced state is neither read nor changed by the helpers."""
    monkeypatch.undo()  # operate() may use the database here
    name = fresh("testing")
    operate(name, "open")
    with force_breaker(name, "closed"):
        assert breaker(name).state == "closed"
    reset_breakers()
    assert Breaker.objects.get(name=name).forced == "open"
    operate(name, "release")


@force_breaker("testing-decorated-test", "open")
def test_a_decorated_test_still_gets_its_fixtures(settings):
    """pytest sees through the decorator: fixtures are injected and the breaker is forced."""
    assert settings.USE_TZ is True
    assert breaker("testing-decorated-test").state == "open"


@force_breaker("testing-decorated-async-test", "open")
async def test_a_decorated_async_test_still_gets_its_fixtures(settings):
    """The same for an async test."""
    assert settings.USE_TZ is True
    assert await breaker("testing-decorated-async-test").astate() == "open"
