"""``django_stability.conf``: live settings, defaults, and caches cleared on setting changes."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

import django_stability
from django_stability.conf import Settings, cached_on_settings, conf
from django_stability.realtime._settings import KEYS, realtime_config

# DESIGN.md "Settings", typed out again on purpose: a change to a public default must be deliberate.
DESIGN_DEFAULTS: dict[str, Any] = {
    "STABILITY_REDIS_URL": None,
    "STABILITY_APP_VERSION": "unknown",
    "STABILITY_CORRELATION_HEADERS": ["X-Correlation-ID", "X-Request-ID"],
    "STABILITY_CACHE_POLICIES": [
        ("/static/", "public, max-age=86400, immutable"),
        ("/api/", "no-store"),
    ],
    "STABILITY_API_PREFIXES": ["/api/", "/stability/"],
    "STABILITY_RATELIMIT": "100/s",
    "STABILITY_RATELIMIT_EXEMPT": [
        "/stability/health/",
        "/stability/metrics",
        "/static/",
    ],
    "STABILITY_RATELIMIT_FAIL_OPEN": True,
    "STABILITY_TRUSTED_PROXIES": [],
    "STABILITY_BREAKERS": {},
    "STABILITY_DRAFT_TTL": timedelta(days=7),
    "STABILITY_DRAFT_MAX_BYTES": 262144,
    "STABILITY_DRAFTS_PER_USER": 200,
    "STABILITY_REALTIME": {
        "HEARTBEAT": 30,
        "MAX_CONNECTIONS_PER_USER": 10,
        "CONNECT_RATE": "100/m",
        "REPLAY_MAX_EVENTS": 1000,
        "REPLAY_TTL": 600,
        # DESIGN's close code 4408: "a send not completed within SEND_TIMEOUT".
        "SEND_TIMEOUT": 10,
        # DESIGN's "Channel authorisation denies by default": nothing declared.
        "CHANNELS": {},
    },
    "STABILITY_HEALTH_TIMEOUT": 2.0,
    "STABILITY_READINESS_CHECKS": None,
    "STABILITY_METRICS_TOKEN": None,
    "STABILITY_DRAIN_SECONDS": 10,
    "STABILITY_BULKHEADS": {},
    "STABILITY_DEADLINES": {},
    "STABILITY_RETRIES": {},
}


def attribute(name: str) -> str:
    """The conf attribute that reads a setting: STABILITY_REDIS_URL -> redis_url."""
    return name.removeprefix("STABILITY_").lower()


def as_plain(value: Any) -> Any:
    """Sequences as lists and mappings as dicts, recursively, to compare with DESIGN.md's literals."""
    if isinstance(value, tuple | list):
        return [as_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: as_plain(v) for k, v in value.items()}
    return value


def test_setting_names_are_the_documented_ones():
    """conf knows exactly the settings of DESIGN.md, each derived from its attribute name."""
    assert Settings.setting_names() == list(DESIGN_DEFAULTS)
    assert Settings.redis_url.setting_name == "STABILITY_REDIS_URL"


def default(name: str) -> Any:
    """What a setting reads with nothing configured; STABILITY_REALTIME's parser holds its keys' defaults."""
    if name != "STABILITY_REALTIME":
        return getattr(conf, attribute(name))
    config = realtime_config()
    return {key: getattr(config, field.name) for key, field in KEYS.items()}


@pytest.mark.parametrize("name", list(DESIGN_DEFAULTS))
def test_defaults_match_design(name, monkeypatch):
    """With nothing configured, every setting reads its DESIGN.md default."""
    monkeypatch.delenv("APP_VERSION", raising=False)
    assert as_plain(default(name)) == as_plain(DESIGN_DEFAULTS[name])


@pytest.mark.parametrize("name", list(DESIGN_DEFAULTS))
def test_override_settings_is_read_live(name):
    """Every setting is read on access: override_settings changes it and restores the default after."""
    marker = object()
    before = getattr(conf, attribute(name))
    with override_settings(**{name: marker}):
        assert getattr(conf, attribute(name)) is marker
    assert getattr(conf, attribute(name)) == before


def test_app_version_falls_back_to_the_environment(monkeypatch):
    """APP_VERSION from the environment is the default; the setting wins over it; empty means unknown."""
    monkeypatch.setenv("APP_VERSION", "2025.06.1")
    assert conf.app_version == "2025.06.1"
    with override_settings(STABILITY_APP_VERSION="from-settings"):
        assert conf.app_version == "from-settings"
    monkeypatch.setenv("APP_VERSION", "")
    assert conf.app_version == "unknown"


# cached_on_settings -----------------------------------------------------------

computed: list[str] = []


@cached_on_settings
def version_banner() -> str:
    """A derived value for the probe: recomputed only after a setting changes."""
    computed.append(conf.app_version)
    return f"v={conf.app_version}"


def test_cached_value_refreshes_when_a_setting_changes():
    """A cached derived value is computed once, then again under override_settings and after it."""
    with override_settings(STABILITY_APP_VERSION="one"):
        computed.clear()
        assert version_banner() == version_banner() == "v=one"
        assert computed == ["one"]
        with override_settings(STABILITY_APP_VERSION="two"):
            assert version_banner() == "v=two"
        assert version_banner() == "v=one"
    assert computed == ["one", "two", "one"]


def import_every_module() -> None:
    """Import all of django_stability so that every cached_on_settings function is registered."""
    for module in pkgutil.walk_packages(django_stability.__path__, "django_stability."):
        importlib.import_module(module.name)


# "module.qualname" -> arguments to call a cached function that needs some.
SAMPLE_ARGUMENTS: dict[str, tuple[Any, ...]] = {}

# "module.qualname" of functools caches that do not depend on settings, with the reason.
NOT_SETTINGS_DEPENDENT: dict[str, str] = {
    "django_stability.middleware._cache._no_store": "a pure function of a Cache-Control value",
    "django_stability.errors._negotiation.prefers_json": "a pure function of an Accept header",
    "django_stability.middleware._route.readable_route": "a pure function of a URL pattern",
    "django_stability.breakers._operator._is_operator_path": (
        "keyed by the URLconf in force (ROOT_URLCONF or request.urlconf)"
    ),
}


def qualified(func: Any) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def settings_caches() -> list[Any]:
    """Every functools cache defined in django_stability, but those exempted above."""
    import_every_module()
    found = []
    for module in pkgutil.walk_packages(django_stability.__path__, "django_stability."):
        for value in vars(importlib.import_module(module.name)).values():
            if (
                isinstance(value, functools._lru_cache_wrapper)
                and value.__module__ == module.name
                and qualified(value) not in NOT_SETTINGS_DEPENDENT
            ):
                found.append(value)
    return found


def test_every_settings_cache_is_cleared_by_override_settings():
    """Each functools cache in django_stability (cached_on_settings) is emptied by override_settings."""
    problems = []
    caches = settings_caches()
    for cached in caches:
        name = qualified(cached)
        arguments = SAMPLE_ARGUMENTS.get(name, ())
        try:
            inspect.signature(cached).bind(*arguments)
        except TypeError:
            problems.append(f"{name} needs arguments: add them to SAMPLE_ARGUMENTS")
            continue
        cached(*arguments)
        filled = cached.cache_info().currsize
        with override_settings(STABILITY_APP_VERSION="cache-probe"):
            emptied = cached.cache_info().currsize
        if not (filled == 1 and emptied == 0):
            problems.append(
                f"{name}: {filled} entries before override_settings, {emptied} during"
            )
    assert caches, "no cache found: the search is broken"
    assert problems == []
