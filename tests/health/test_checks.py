"""Each health check against real dependencies: what it reports when they work and when they do not."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
from django.test import override_settings
from health_check.exceptions import (
    HealthCheckException,
    ServiceReturnedUnexpectedResult,
    ServiceUnavailable,
    ServiceWarning,
)

from django_stability.health import (
    Breakers,
    Cache,
    ChannelLayer,
    Database,
    Migrations,
    Redis,
)
from django_stability.health._described import describe
from tests import services
from tests.fixtures.redis_server import RedisServer, free_port


@pytest.mark.django_db
async def test_database_selects_one_and_names_the_vendor():
    """The database check passes and says which backend answered, without a pool."""
    check = Database()
    await check.run()
    assert check.detail.startswith("SELECT 1 on ")
    assert check.detail.endswith("no pool")


async def test_database_with_an_unknown_alias_is_unavailable():
    """An alias missing from DATABASES is reported as unavailable, not as a crash."""
    with pytest.raises(ServiceUnavailable, match="ConnectionDoesNotExist"):
        await Database("nope").run()


async def test_cache_round_trip_passes_on_locmem():
    """Set, get and delete work on the default LocMemCache."""
    check = Cache()
    await check.run()
    assert check.detail == "set, get and delete on LocMemCache"


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
)
async def test_cache_that_stores_nothing_is_unexpected():
    """A DummyCache reads back nothing: the check says so."""
    with pytest.raises(ServiceReturnedUnexpectedResult, match="DummyCache"):
        await Cache().run()


async def test_cache_on_a_redis_nobody_listens_on_is_unavailable():
    """django-redis on a closed port: the check fails with the error's type, not a URL."""
    location = f"redis://127.0.0.1:{free_port()}/0"
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "down": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location},
    }
    with override_settings(CACHES=caches), pytest.raises(ServiceUnavailable) as info:
        await Cache("down").run()
    assert info.value.message.startswith("ConnectionError: ")
    assert location not in info.value.message


async def test_redis_without_url_passes_and_says_memory():
    """Without STABILITY_REDIS_URL the Redis check passes and explains state is in memory."""
    check = Redis()
    await check.run()
    assert "process memory" in check.detail


@pytest.mark.redis
async def test_redis_pings_the_engine():
    """With STABILITY_REDIS_URL the check PINGs Redis and reports the round trip."""
    with override_settings(STABILITY_REDIS_URL=services.REDIS_URL):
        check = Redis()
        await check.run()
    assert check.detail.startswith("PING in ")


async def test_redis_url_field_is_kept_out_of_repr(redis_server: RedisServer) -> None:
    """A Redis URL given to the check (it may hold a password) never shows in repr or detail."""
    url = redis_server.url.replace("redis://", "redis://:s3cret@")
    check = Redis(url=url)
    assert repr(check) == "Redis()"
    await check.run()
    assert "s3cret" not in check.detail


async def test_redis_url_field_pings_that_server(redis_server: RedisServer) -> None:
    """A check given a URL pings that server, not the engine's."""
    check = Redis(url=redis_server.url)
    await check.run()
    assert check.detail.startswith("PING in ")


async def test_redis_that_is_down_is_unavailable():
    """A Redis nobody listens on: unavailable, with the engine's description."""
    with pytest.raises(ServiceUnavailable):
        await Redis(url=f"redis://127.0.0.1:{free_port()}/0").run()


@override_settings(
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
)
async def test_channel_layer_round_trip_in_memory():
    """A message sent to a new channel comes back through the layer."""
    check = ChannelLayer()
    await check.run()
    assert check.detail == "send and receive on InMemoryChannelLayer"


@pytest.mark.redis
async def test_channel_layer_round_trip_on_redis():
    """The round trip works through channels-redis on the real Redis."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [services.REDIS_URL],
                "prefix": "stability-test-health",
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        check = ChannelLayer()
        await check.run()
    assert check.detail == "send and receive on RedisChannelLayer"


async def test_channel_layer_missing_alias_is_unavailable():
    """Without that alias in CHANNEL_LAYERS the check fails and names the alias."""
    with (
        override_settings(CHANNEL_LAYERS={}),
        pytest.raises(ServiceUnavailable, match="'default'"),
    ):
        await ChannelLayer().run()


async def test_channel_layer_on_a_redis_nobody_listens_on_is_unavailable():
    """channels-redis on a closed port fails the round trip."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers), pytest.raises(ServiceUnavailable):
        await ChannelLayer().run()


async def test_channel_layer_with_a_broken_backend_is_unavailable() -> None:
    """A CHANNEL_LAYERS backend that cannot be built fails the check instead of crashing."""
    layers = {"default": {"BACKEND": "tests.health.no_such_module.Layer"}}
    with override_settings(CHANNEL_LAYERS=layers), pytest.raises(ServiceUnavailable):
        await ChannelLayer().run()


@pytest.mark.django_db
async def test_migrations_on_an_unknown_alias_is_unavailable() -> None:
    """An alias missing from DATABASES fails the migrations check."""
    with pytest.raises(ServiceUnavailable, match="ConnectionDoesNotExist"):
        await Migrations("nope").run()


async def test_breakers_not_installed_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the breakers capability the check passes with "breakers not installed"."""
    # None in sys.modules makes the import fail, whether or not the package exists.
    monkeypatch.setitem(sys.modules, "django_stability.breakers", None)
    check = Breakers()
    await check.run()
    assert check.detail == "breakers not installed"


@dataclass
class _Breaker:
    name: str
    state: str


@pytest.fixture
def breakers(monkeypatch: pytest.MonkeyPatch) -> list[_Breaker]:
    """Stands in for the breakers capability's hook (``all_breakers()``), which lives on another branch."""
    found: list[_Breaker] = []
    module = types.ModuleType("django_stability.breakers")
    module.all_breakers = lambda: list(found)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "django_stability.breakers", module)
    return found


async def test_closed_breakers_pass_and_half_open_ones_are_named(breakers):
    """No open breaker: ok, with the count and the half-open ones."""
    breakers += [_Breaker("payments", "closed"), _Breaker("search", "half_open")]
    check = Breakers()
    await check.run()
    assert check.detail == "2 breaker(s), none open; half-open: search"


async def test_open_breakers_warn(breakers):
    """An open breaker is a warning by default, naming it."""
    breakers += [_Breaker("payments", "open"), _Breaker("mail", "open")]
    with pytest.raises(ServiceWarning, match="open: mail, payments"):
        await Breakers().run()


async def test_breaker_states_may_be_enum_members(breakers: list[_Breaker]) -> None:
    """A state given as an enum member with the value "open" counts as open."""
    import enum

    class State(enum.Enum):
        OPEN = "open"

    breakers.append(_Breaker("payments", State.OPEN))  # type: ignore[arg-type]
    with pytest.raises(ServiceWarning, match="open: payments"):
        await Breakers().run()


async def test_open_breakers_fail_when_critical(breakers):
    """With critical=True an open breaker fails the check."""
    breakers.append(_Breaker("payments", "open"))
    with pytest.raises(ServiceUnavailable, match="open: payments"):
        await Breakers(critical=True).run()


@pytest.mark.django_db
async def test_migrations_applied():
    """On the migrated test database every migration is applied."""
    check = Migrations()
    await check.run()
    assert check.detail == "all migrations applied"


@pytest.mark.django_db
async def test_migrations_pending_are_named(settings):
    """An app whose migration is not applied fails the check, naming it."""
    settings.MIGRATION_MODULES = {"sessions": "tests.health.pending_migrations"}
    with pytest.raises(
        ServiceUnavailable, match=r"1 migration\(s\) not applied: sessions.0001_pending"
    ):
        await Migrations().run()


def test_describe_keeps_the_first_line_and_bounds_it():
    """Failure descriptions carry the type and one bounded line."""
    assert describe(ValueError("first\nsecond")) == "ValueError: first"
    assert describe(ValueError()) == "ValueError"
    assert len(describe(ValueError("x" * 500))) == 200


def test_checks_are_health_check_dataclasses():
    """Every check is a django-health-check HealthCheck with a readable repr."""
    from health_check.base import HealthCheck

    for check in (
        Database(),
        Cache(),
        Redis(),
        ChannelLayer(),
        Breakers(),
        Migrations(),
    ):
        assert isinstance(check, HealthCheck)
    assert repr(Database("replica")) == "Database(alias='replica')"
    assert issubclass(ServiceWarning, HealthCheckException)
