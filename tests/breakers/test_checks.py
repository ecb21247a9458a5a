"""System checks of ``STABILITY_BREAKERS`` (E012-E014)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from django_stability.breakers import BreakerConfig
from tests.checks import check_error_codes


def fallback_payment() -> str:
    """A breaker fallback the checks can import."""
    return "queued"


# STABILITY_BREAKERS -----------------------------------------------------------


def test_breakers_accept_every_documented_option():
    """A breaker using every option of DESIGN.md with valid values passes."""
    options = {
        "failure_threshold": 5,
        "failure_rate": 50.0,
        "minimum_calls": 10,
        "window": 60,
        "slow_call_seconds": 2.5,
        "slow_call_rate": 100,
        "reset_timeout": 30,
        "half_open_max_calls": 1,
        "success_threshold": 2,
        "call_timeout": 5,
        "exclude": [KeyError, "django.db.IntegrityError"],
        "fallback": "tests.breakers.test_checks.fallback_payment",
    }
    assert set(options) == set(BreakerConfig.rules())
    with override_settings(
        STABILITY_BREAKERS={
            "payments": options,
            "mail": {},
            "db:primary": {"call_timeout": None},
        }
    ):
        check_error_codes([])


@pytest.mark.parametrize(
    ("value", "start"),
    [
        (
            [("payments", {})],
            "STABILITY_BREAKERS must be a dict of breaker name -> options, not list",
        ),
        (
            {"pay/ments": {}},
            "STABILITY_BREAKERS has an invalid breaker name: str 'pay/ments'",
        ),
        ({"": {}}, "STABILITY_BREAKERS has an invalid breaker name: str ''"),
        ({"..": {}}, "STABILITY_BREAKERS has an invalid breaker name: str '..'"),
        ({1: {}}, "STABILITY_BREAKERS has an invalid breaker name: int 1"),
        (
            {"payments": 5},
            "STABILITY_BREAKERS['payments'] must be a dict of options, not int 5",
        ),
    ],
)
def test_breakers_must_map_valid_names_to_dicts(value, start):
    """A breaker list, a name unfit for URLs and keys, or non-dict options is E012."""
    with override_settings(STABILITY_BREAKERS=value):
        [message] = check_error_codes(["E012"])
    assert message.msg.startswith(start)


def test_unknown_breaker_option_names_breaker_key_and_suggestion():
    """A misspelt option is E013 naming the breaker and key, suggesting the right one."""
    with override_settings(
        STABILITY_BREAKERS={"payments": {"failure_treshold": 5, "retries": 3}}
    ):
        messages = check_error_codes(["E013", "E013"])
    assert messages[0].msg == (
        "STABILITY_BREAKERS['payments']['failure_treshold'] is not a breaker option "
        "(did you mean 'failure_threshold'?)."
    )
    assert (
        messages[1].msg
        == "STABILITY_BREAKERS['payments']['retries'] is not a breaker option."
    )
    assert "failure_threshold, failure_rate, minimum_calls" in str(messages[1].hint)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("failure_threshold", 0, "must be a positive whole number, not int 0"),
        ("failure_threshold", True, "must be a positive whole number, not bool True"),
        ("failure_threshold", "5", "must be a positive whole number, not str '5'"),
        ("minimum_calls", 2.0, "must be a positive whole number, not float 2.0"),
        ("half_open_max_calls", -1, "must be a positive whole number"),
        (
            "success_threshold",
            None,
            "must be a positive whole number, not NoneType None",
        ),
        ("failure_rate", 0, "must be a percentage above 0 and at most 100, not int 0"),
        ("failure_rate", 150, "must be a percentage above 0 and at most 100"),
        (
            "slow_call_rate",
            float("nan"),
            "must be a percentage above 0 and at most 100, not float nan",
        ),
        ("window", 0, "must be a positive number, not int 0"),
        ("window", timedelta(seconds=60), "must be a positive number, not timedelta"),
        ("reset_timeout", float("inf"), "must be a positive number, not float inf"),
        ("slow_call_seconds", "2", "must be a positive number"),
        ("call_timeout", 0, "must be None or a positive number, not int 0"),
        (
            "exclude",
            KeyError,
            "must be a list of exception classes or their dotted paths, not class builtins.KeyError",
        ),
        (
            "exclude",
            [KeyError, int],
            "item 1: class builtins.int is not an exception class",
        ),
        (
            "exclude",
            ["no.such.Error"],
            "item 0: 'no.such.Error' cannot be imported (ModuleNotFoundError",
        ),
        (
            "fallback",
            fallback_payment,
            "must be None or the dotted path of a callable, not function tests.breakers.test_checks.fallback_payment.",
        ),
        (
            "fallback",
            "tests.breakers.test_checks.nothing",
            "'tests.breakers.test_checks.nothing' cannot be imported",
        ),
        (
            "fallback",
            "django_stability.conf.PREFIX",
            "'django_stability.conf.PREFIX' is not callable",
        ),
    ],
)
def test_invalid_breaker_option_names_breaker_key_and_problem(key, value, problem):
    """An option of the wrong type or range is E014 naming the breaker, the key and what is expected."""
    with override_settings(STABILITY_BREAKERS={"payments": {key: value}}):
        [message] = check_error_codes(["E014"])
    assert message.msg.startswith(f"STABILITY_BREAKERS['payments']['{key}'] ")
    assert problem in message.msg
