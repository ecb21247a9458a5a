"""BreakerConfig: a STABILITY_BREAKERS entry parsed by the rules the checks report."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.breakers import BreakerConfig
from django_stability.breakers._checks import check_breakers
from django_stability.breakers._registry import config_for
from tests.breakers.support import Declined


def fallback(*args):
    return None


def test_dotted_paths_are_imported():
    """``exclude`` and ``fallback`` dotted paths become the objects; a rate drops the count threshold."""
    config = BreakerConfig.from_options(
        "cfg-x",
        {
            "exclude": ["tests.breakers.support.Declined"],
            "fallback": "tests.breakers.test_config.fallback",
            "failure_rate": 50,
        },
    )
    assert config.exclude == (Declined,)
    assert config.fallback is fallback
    assert config.failure_threshold is None
    assert config.as_json()["exclude"] == ["tests.breakers.support.Declined"]
    assert config.as_json()["fallback"] == "tests.breakers.test_config.fallback"


def test_slow_calls_alone_default_the_slow_rate_to_100():
    """``slow_call_seconds`` without ``slow_call_rate`` opens on 100 % slow calls."""
    config = BreakerConfig.from_options("cfg-slow", {"slow_call_seconds": 2})
    assert (config.slow_call_rate, config.limits().slow_rate) == (100.0, 100.0)


@pytest.mark.parametrize(
    "options",
    [
        {"failure_treshold": 3},
        {"exclude": ["no.such.Module"]},
        {"window": 0},
        {"reset_timeout": "30"},
        {"failure_rate": 150},
        {"fallback": fallback},
        {"minimum_calls": 2.5, "half_open_max_calls": 0},
        5,
    ],
)
def test_an_invalid_entry_is_refused_in_the_words_of_the_checks(options):
    """Building the breaker raises ImproperlyConfigured with exactly the checks' messages."""
    with override_settings(STABILITY_BREAKERS={"cfg-bad": options}):
        messages = check_breakers()
        with pytest.raises(ImproperlyConfigured) as refused:
            config_for("cfg-bad")
    assert messages
    assert str(refused.value) == " ".join(message.msg for message in messages)


@pytest.mark.parametrize(
    ("option", "value"),
    [("window", 0), ("failure_rate", 0), ("exclude", [int]), ("fallback", "x")],
)
def test_direct_construction_follows_the_same_rules(option, value):
    """BreakerConfig(...) in code holds each option to its rule too."""
    with pytest.raises(ImproperlyConfigured, match=f"breaker option {option} "):
        BreakerConfig(**{option: value})


def test_unset_options_and_parsed_values_are_valid():
    """None means "not used" where the default is None; classes and callables are the parsed forms."""
    config = BreakerConfig(
        failure_threshold=None, failure_rate=50, exclude=(Declined,), fallback=fallback
    )
    assert config.as_json()["failure_threshold"] is None
