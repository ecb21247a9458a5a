"""System checks of the draft, realtime, health, metrics and shutdown settings."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.checks import run_checks
from django.test import override_settings
from health_check.base import HealthCheck

from django_stability.checks._features import REALTIME_OPTIONS
from django_stability.conf import DEFAULT_REALTIME
from tests.test_checks import check_error_codes


@dataclasses.dataclass
class AlwaysHealthy(HealthCheck):  # type: ignore[misc]
    """A readiness check the settings can point at."""

    async def run(self) -> None:
        return None


# Drafts -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [3600, timedelta(0), timedelta(days=-1), None])
def test_draft_ttl_must_be_a_positive_timedelta(value):
    """Seconds as a number, zero or negative durations are E015."""
    with override_settings(STABILITY_DRAFT_TTL=value):
        check_error_codes(["E015"])


@pytest.mark.parametrize(
    ("setting", "code"),
    [("STABILITY_DRAFT_MAX_BYTES", "E016"), ("STABILITY_DRAFTS_PER_USER", "E017")],
)
@pytest.mark.parametrize("value", [0, -5, True, 1.5, "200", None])
def test_draft_limits_must_be_positive_ints(setting, code, value):
    """Zero, negatives, bools, floats and strings are rejected, naming the setting."""
    with override_settings(**{setting: value}):
        [message] = check_error_codes([code])
    assert message.msg.startswith(f"{setting} must be a positive whole number, not ")


@pytest.mark.parametrize(
    ("setting", "code"),
    [("STABILITY_DRAFT_MAX_BYTES", "E016"), ("STABILITY_DRAFTS_PER_USER", "E017")],
)
def test_draft_limits_accept_one(setting, code):
    """The smallest positive limit is valid."""
    with override_settings(**{setting: 1}):
        check_error_codes([])


# STABILITY_REALTIME -----------------------------------------------------------


def test_realtime_validators_cover_exactly_the_default_keys():
    """Every key of the default STABILITY_REALTIME is validated, and no other."""
    assert list(REALTIME_OPTIONS) == list(DEFAULT_REALTIME)


def test_realtime_accepts_a_partial_dict():
    """Keys left out keep their defaults, so a dict with one key is valid."""
    with override_settings(
        STABILITY_REALTIME={"HEARTBEAT": 15.5, "CONNECT_RATE": "10/s"}
    ):
        check_error_codes([])


@pytest.mark.parametrize("value", [None, [("HEARTBEAT", 30)], "HEARTBEAT=30"])
def test_realtime_must_be_a_dict(value):
    """A list of pairs, a string or None is E018."""
    with override_settings(STABILITY_REALTIME=value):
        [message] = check_error_codes(["E018"])
    assert message.msg.startswith("STABILITY_REALTIME must be a dict, not ")
    assert "HEARTBEAT, MAX_CONNECTIONS_PER_USER, CONNECT_RATE" in str(message.hint)


def test_realtime_unknown_key_suggests_the_known_one():
    """A lower-case or misspelt key is E018 naming it and suggesting the real key."""
    with override_settings(
        STABILITY_REALTIME={"heartbeat": 30, "REPLAY_TTL": 60, "BACKOFF": 1}
    ):
        messages = check_error_codes(["E018", "E018"])
    assert (
        messages[0].msg
        == "STABILITY_REALTIME['heartbeat'] is not a realtime option (did you mean 'HEARTBEAT'?)."
    )
    assert messages[1].msg == "STABILITY_REALTIME['BACKOFF'] is not a realtime option."


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("HEARTBEAT", 0, "must be a positive number, not int 0"),
        ("HEARTBEAT", "30", "must be a positive number, not str '30'"),
        (
            "MAX_CONNECTIONS_PER_USER",
            2.5,
            "must be a positive whole number, not float 2.5",
        ),
        ("CONNECT_RATE", "100/minute", "is an invalid rate '100/minute'"),
        (
            "CONNECT_RATE",
            None,
            "must be a rate string such as '100/s', not NoneType None",
        ),
        ("REPLAY_MAX_EVENTS", 0, "must be a positive whole number, not int 0"),
        ("REPLAY_TTL", -1, "must be a positive number, not int -1"),
        (
            "CHANNELS",
            ["notes"],
            "must be a dict of channel pattern -> rule, not list ['notes']",
        ),
        ("CHANNELS", {"no spaces": "staff"}, "has an invalid channel pattern"),
        ("CHANNELS", {"u-{user.email}": "staff"}, "has an invalid channel pattern"),
        ("CHANNELS", {"notes": "everyone"}, "['notes'] must be the dotted path"),
        ("CHANNELS", {"notes": "perm:view_note"}, "['notes'] 'perm:view_note' must"),
        ("CHANNELS", {"notes": 3}, "['notes'] must be 'authenticated', 'staff'"),
    ],
)
def test_realtime_invalid_value_names_the_key(key, value, problem):
    """A value of the wrong type or range is E019 naming the key."""
    with override_settings(STABILITY_REALTIME={key: value}):
        [message] = check_error_codes(["E019"])
    assert message.msg.startswith(f"STABILITY_REALTIME['{key}'] {problem}")


def test_realtime_channels_accept_every_rule_form():
    """Patterns with * and the user placeholders, and the four kinds of rule, pass the checks."""
    channels = {
        "notes": "authenticated",
        "user-{user.pk}": "authenticated",
        "by-{user.username}-*": "staff",
        "reports": "perm:auth.view_user",
        "rooms-*": "django_stability.realtime._policy.allowed",
        "halls-*": lambda user, channel: True,
    }
    with override_settings(STABILITY_REALTIME={"CHANNELS": channels}):
        check_error_codes([])


def test_an_empty_channel_policy_is_explained_where_channels_is_installed():
    """W041 says every subscription will be refused; not without Channels, not once declared."""
    apps = [*django_settings.INSTALLED_APPS, "channels"]
    with override_settings(INSTALLED_APPS=apps, STABILITY_REALTIME={}):
        [message] = [m for m in run_checks() if m.id == "django_stability.W041"]
    assert "every realtime subscription is refused" in message.msg
    with override_settings(
        INSTALLED_APPS=apps, STABILITY_REALTIME={"CHANNELS": {"notes": "staff"}}
    ):
        assert "django_stability.W041" not in [m.id for m in run_checks()]
    assert "django_stability.W041" not in [m.id for m in run_checks()]


# STABILITY_HEALTH_TIMEOUT and STABILITY_DRAIN_SECONDS -------------------------


@pytest.mark.parametrize("value", [0, -1, "2", None, True, float("inf"), float("nan")])
def test_health_timeout_must_be_a_positive_number(value):
    """Zero, negatives, strings, bools and non-finite numbers are E020."""
    with override_settings(STABILITY_HEALTH_TIMEOUT=value):
        check_error_codes(["E020"])


@pytest.mark.parametrize("value", [0.05, 3])
def test_health_timeout_accepts_ints_and_floats(value):
    """Any positive number of seconds is valid."""
    with override_settings(STABILITY_HEALTH_TIMEOUT=value):
        check_error_codes([])


@pytest.mark.parametrize("value", [-1, -0.5, "10", None, False, float("inf")])
def test_drain_seconds_must_be_a_non_negative_number(value):
    """Negative, non-numeric and infinite grace periods are E024."""
    with override_settings(STABILITY_DRAIN_SECONDS=value):
        check_error_codes(["E024"])


def test_drain_seconds_may_be_zero():
    """No grace period at all is valid."""
    with override_settings(STABILITY_DRAIN_SECONDS=0):
        check_error_codes([])


# STABILITY_READINESS_CHECKS ---------------------------------------------------


@pytest.mark.parametrize(
    "value", [None, [], ["tests.test_checks_runtime.AlwaysHealthy"]]
)
def test_readiness_checks_accept_none_and_health_check_classes(value):
    """None (the defaults), an empty list and importable HealthCheck subclasses are valid."""
    with override_settings(STABILITY_READINESS_CHECKS=value):
        check_error_codes([])


@pytest.mark.parametrize(
    ("value", "codes", "start"),
    [
        (
            "tests.test_checks_runtime.AlwaysHealthy",
            ["E021"],
            "STABILITY_READINESS_CHECKS must be None or a list",
        ),
        (
            ["AlwaysHealthy"],
            ["E021"],
            "STABILITY_READINESS_CHECKS[0] must be a dotted path, not str",
        ),
        (
            [AlwaysHealthy],
            ["E021"],
            "STABILITY_READINESS_CHECKS[0] must be a dotted path, not class tests.test_checks_runtime.AlwaysHealthy.",
        ),
    ],
)
def test_readiness_checks_must_be_dotted_paths(value, codes, start):
    """A bare string, a name without a module or a class object is E021."""
    with override_settings(STABILITY_READINESS_CHECKS=value):
        [message] = check_error_codes(codes)
    assert message.msg.startswith(start)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (
            "no_such_package.Check",
            "'no_such_package.Check' cannot be imported (ModuleNotFoundError",
        ),
        (
            "tests.test_checks_runtime.Missing",
            "'tests.test_checks_runtime.Missing' cannot be imported (ImportError: Module \"tests.test_checks_runtime\"",
        ),
        (
            "django_stability.conf.Settings",
            "'django_stability.conf.Settings' is not a subclass of health_check",
        ),
        (
            "health_check.base.HealthCheckResult",
            "'health_check.base.HealthCheckResult' is not a subclass of health_check",
        ),
    ],
)
def test_readiness_check_must_import_a_health_check(path, problem):
    """A path that does not import, or imports something else, is E022 naming the item."""
    with override_settings(
        STABILITY_READINESS_CHECKS=["tests.test_checks_runtime.AlwaysHealthy", path]
    ):
        [message] = check_error_codes(["E022"])
    assert message.msg.startswith(f"STABILITY_READINESS_CHECKS[1] {problem}")


# STABILITY_METRICS_TOKEN ------------------------------------------------------

SECRET = "s3cr3t value"


@pytest.mark.parametrize(
    "value", ["", 123456789012345678, SECRET, "s3cr3t\nvalue", "tøken-s3cr3t-s3cr3t"]
)
def test_metrics_token_must_be_a_bearer_token_and_is_never_shown(value):
    """Empty, non-string or unsendable tokens are E023, and the message never reveals the token."""
    with override_settings(STABILITY_METRICS_TOKEN=value):
        [message] = check_error_codes(["E023"])
    text = message.msg + str(message.hint)
    assert "s3cr3t" not in text
    assert "123456789" not in text


def test_short_metrics_token_warns_on_deploy_only():
    """A token under 16 characters passes in development and is W010 under check --deploy."""
    with override_settings(
        STABILITY_METRICS_TOKEN="abc123", STABILITY_REDIS_URL="redis://cache"
    ):
        check_error_codes([])
        [message] = check_error_codes(["W010"], deploy=True)
    assert message.msg == "STABILITY_METRICS_TOKEN is only 6 characters long."


def test_long_random_metrics_token_passes_deploy_checks():
    """A token such as secrets.token_urlsafe(32) passes every check."""
    token = "Zx9_-Q2mB7w4Yt1LkP0sR8vN3cE6hJ5a" + "=="
    with override_settings(
        STABILITY_METRICS_TOKEN=token, STABILITY_REDIS_URL="redis://cache"
    ):
        check_error_codes([], deploy=True)
