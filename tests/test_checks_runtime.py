"""System checks of the health, metrics and shutdown settings (drafts: tests/drafts/test_checks.py; realtime: tests/realtime/test_checks.py)."""

from __future__ import annotations

import dataclasses

import pytest
from django.test import override_settings
from health_check.base import HealthCheck

from tests.test_checks import check_error_codes


@dataclasses.dataclass
class AlwaysHealthy(HealthCheck):  # type: ignore[misc]
    """A readiness check the settings can point at."""

    async def run(self) -> None:
        return None


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
