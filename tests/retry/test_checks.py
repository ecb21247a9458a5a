"""System checks of ``STABILITY_RETRIES`` (E053-E055, W051), and the same rules when a retry runs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.retry import RetryConfig, retry
from tests.checks import check_error_codes


def test_every_option_with_valid_values_passes():
    """A retry using every option, and one using none, give no message."""
    options = {
        "attempts": 5,
        "timeout": None,
        "wait_initial": 0.05,
        "wait_max": 2,
        "budget": 0.2,
        "window": 30,
        "min_retries": 0,
        "breaker": "payments",
        "on": [KeyError, "django.db.OperationalError"],
    }
    assert set(options) == set(RetryConfig.rules())
    with override_settings(
        STABILITY_RETRIES={"payments": options, "search": {}},
        STABILITY_BREAKERS={"payments": {}},
    ):
        check_error_codes([])
        config = retry("payments").config
    assert config.on[1].__name__ == "OperationalError"  # imported from its dotted path


@pytest.mark.parametrize(
    ("value", "start"),
    [
        (
            [("payments", {})],
            "STABILITY_RETRIES must be a dict of retry name -> options, not list",
        ),
        (
            {"pay/ments": {}},
            "STABILITY_RETRIES has an invalid retry name: str 'pay/ments'",
        ),
        ({1: {}}, "STABILITY_RETRIES has an invalid retry name: int 1"),
        (
            {"payments": 3},
            "STABILITY_RETRIES['payments'] must be a dict of options, not int 3",
        ),
    ],
)
def test_retries_must_map_valid_names_to_dicts(value, start):
    """A list, a name unfit for keys and labels, or options that are not a dict: E053."""
    with override_settings(STABILITY_RETRIES=value):
        [message] = check_error_codes(["E053"])
    assert message.msg.startswith(start)


def test_an_unknown_option_is_named_with_a_suggestion():
    """A misspelt option is E054, naming the retry and the key and suggesting the right one."""
    with override_settings(STABILITY_RETRIES={"payments": {"atempts": 5}}):
        [message] = check_error_codes(["E054"])
    assert message.msg == (
        "STABILITY_RETRIES['payments']['atempts'] is not a retry option (did you mean 'attempts'?)."
    )
    assert message.hint is not None and "min_retries" in message.hint


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("attempts", 0, "must be a positive whole number, not int 0"),
        ("attempts", True, "must be a positive whole number, not bool True"),
        ("timeout", 0, "must be None or a positive number, not int 0"),
        ("wait_max", -1, "must be a number, 0 or more, not int -1"),
        ("budget", "10%", "must be None or a number, 0 or more, not str '10%'"),
        ("window", float("inf"), "must be a positive number, not float inf"),
        ("min_retries", 1.5, "must be a whole number, 0 or more, not float 1.5"),
        ("breaker", "pay ments", "must be None or a breaker name"),
        ("on", "builtins.ConnectionError", "must be a list of exception classes"),
        ("on", ["no.such.Error"], "item 0: 'no.such.Error' cannot be imported"),
        ("on", [int], "item 0: class builtins.int is not an exception class"),
    ],
)
def test_a_bad_option_value_is_e052(option, value, problem):
    """Each option's rule, broken: E055 naming the retry, the option and what is wrong."""
    with override_settings(STABILITY_RETRIES={"payments": {option: value}}):
        [message] = check_error_codes(["E055"])
    assert message.msg.startswith(
        f"STABILITY_RETRIES['payments']['{option}'] {problem}"
    )


def test_a_breaker_not_in_the_breakers_setting_is_w050():
    """A retry asking a breaker that STABILITY_BREAKERS does not list gets a warning (a typo?)."""
    with override_settings(
        STABILITY_RETRIES={"payments": {"breaker": "paymnets"}},
        STABILITY_BREAKERS={"payments": {}},
    ):
        [message] = check_error_codes(["W051"])
    assert message.msg == (
        "STABILITY_RETRIES['payments']['breaker'] names the breaker 'paymnets', "
        "which STABILITY_BREAKERS does not list."
    )


def test_a_retry_refuses_to_run_on_invalid_settings():
    """What the checks call an error is refused with the same words when a retry runs."""
    with (
        override_settings(STABILITY_RETRIES={"payments": {"attempts": 0}}),
        pytest.raises(ImproperlyConfigured, match=r"\['attempts'\] must be a positive"),
    ):
        retry("payments").call(lambda: None)


def test_an_invalid_config_cannot_be_built_in_code():
    """RetryConfig itself refuses values its rules forbid."""
    with pytest.raises(ImproperlyConfigured, match="retry option budget must be None"):
        RetryConfig(budget=-0.5)
