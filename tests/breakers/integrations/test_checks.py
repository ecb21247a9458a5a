"""System checks of the integrations: database breaker aliases (E026) and wrapped caches (E027)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.breakers.integrations import BreakerCache
from tests.checks import check_error_codes

BREAKER_CACHE = "django_stability.breakers.integrations.BreakerCache"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def test_database_breaker_for_a_missing_alias_is_an_error() -> None:
    """``database:<alias>`` with an alias DATABASES lacks reports E026 naming the entry."""
    breakers: dict[str, dict[str, Any]] = {
        "database:replica": {},
        "database": {},
        "database:default": {},
    }
    with override_settings(STABILITY_BREAKERS=breakers):
        (message,) = check_error_codes(["E026"])
    assert "STABILITY_BREAKERS['database:replica']" in message.msg
    assert "'replica'" in message.msg


def test_malformed_breakers_are_left_to_e012() -> None:
    """A STABILITY_BREAKERS that is not a dict reports E012 only."""
    with override_settings(STABILITY_BREAKERS=["database:x"]):
        check_error_codes(["E012"])


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (None, "not NoneType None"),
        ({}, "not NoneType None"),
        ({"BACKEND": "no.such.Backend"}, "cannot be imported"),
        ({"BACKEND": BREAKER_CACHE}, "wrap itself"),
    ],
)
def test_breaker_cache_without_a_usable_backend_is_an_error(
    options: Any, problem: str
) -> None:
    """A BreakerCache entry whose wrapped backend is missing, unimportable or itself reports E027."""
    caches = {
        "default": {"BACKEND": LOCMEM},
        "guarded": {"BACKEND": BREAKER_CACHE, "OPTIONS": options},
    }
    with override_settings(CACHES=caches):
        (message,) = check_error_codes(["E027"])
    assert "CACHES['guarded']['OPTIONS']['BACKEND']" in message.msg
    assert problem in message.msg


def test_well_configured_breaker_cache_passes() -> None:
    """A BreakerCache wrapping an importable backend raises no check."""
    caches = {
        "default": {"BACKEND": BREAKER_CACHE, "OPTIONS": {"BACKEND": LOCMEM}},
    }
    with override_settings(CACHES=caches):
        check_error_codes([])


def test_breaker_cache_refuses_to_wrap_itself() -> None:
    """Constructing a BreakerCache around BreakerCache raises ImproperlyConfigured."""
    with pytest.raises(ImproperlyConfigured, match="cannot wrap BreakerCache"):
        BreakerCache("self", {"OPTIONS": {"BACKEND": BREAKER_CACHE}})
