"""``breaker(name)``: one object per name, configured from STABILITY_BREAKERS, following its changes."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_stability.breakers import all_breakers, breaker
from django_stability.breakers._registry import config_for, is_known
from django_stability.runtime import runtime


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Breakers made by a test do not outlive it."""
    yield
    runtime.reset(everything=True)


def test_same_object_per_name():
    """Every call with one name returns the one process-wide breaker."""
    assert breaker("reg-a") is breaker("reg-a")
    assert breaker("reg-a") is not breaker("reg-b")


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "ü", "x" * 201, "with space", 12]
)
def test_bad_names_are_refused(name):
    """A name outside 1-200 chars of [A-Za-z0-9._:-] is a ValueError naming the rule."""
    with pytest.raises(ValueError, match=r"1-200 characters"):
        breaker(name)


def test_options_come_from_settings_and_follow_changes():
    """The breaker reads STABILITY_BREAKERS on use and again after the setting changes."""
    b = breaker("reg-pay")
    with override_settings(STABILITY_BREAKERS={"reg-pay": {"failure_threshold": 2}}):
        assert b.config.failure_threshold == 2
        with override_settings(
            STABILITY_BREAKERS={"reg-pay": {"failure_threshold": 9}}
        ):
            assert b.config.failure_threshold == 9
    assert b.config.failure_threshold == 5  # the default again


def test_unlisted_breaker_uses_defaults():
    """A breaker absent from the setting runs on the documented defaults."""
    config = config_for("reg-unlisted")
    assert (config.failure_threshold, config.window, config.reset_timeout) == (
        5,
        60.0,
        30.0,
    )
    assert (config.half_open_max_calls, config.success_threshold) == (1, 1)


def test_all_breakers_lists_configured_and_used_ones():
    """all_breakers() holds the configured breakers and those the code used, sorted by name."""
    breaker("reg-used")
    with override_settings(STABILITY_BREAKERS={"reg-configured": {}}):
        names = [b.name for b in all_breakers()]
        assert {"reg-used", "reg-configured"} <= set(names)
        assert names == sorted(names)
        assert is_known("reg-configured") and is_known("reg-used")
    assert not is_known("reg-never")
