"""The health settings: their system checks (E020-E022, E024) and the parser the probes read them through."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from health_check.base import HealthCheck

from django_stability.health._settings import parsed, readiness_classes
from tests.checks import check_error_codes

HERE = "tests.health.test_settings"


@dataclasses.dataclass
class AlwaysHealthy(HealthCheck):
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


def test_the_probes_read_the_numbers_the_checks_accept():
    """The parser gives the values the checks pass, and refuses what they report, naming the setting."""
    assert (parsed("health_timeout"), parsed("drain_seconds")) == (2.0, 10)
    with override_settings(STABILITY_HEALTH_TIMEOUT=0, STABILITY_DRAIN_SECONDS=-1):
        with pytest.raises(ImproperlyConfigured, match="^STABILITY_HEALTH_TIMEOUT "):
            parsed("health_timeout")
        with pytest.raises(ImproperlyConfigured, match="^STABILITY_DRAIN_SECONDS "):
            parsed("drain_seconds")


# STABILITY_READINESS_CHECKS ---------------------------------------------------


@pytest.mark.parametrize("value", [None, [], [f"{HERE}.AlwaysHealthy"]])
def test_readiness_checks_accept_none_and_health_check_classes(value):
    """None (the defaults), an empty list and importable HealthCheck subclasses are valid."""
    with override_settings(STABILITY_READINESS_CHECKS=value):
        check_error_codes([])


@pytest.mark.parametrize(
    ("value", "start"),
    [
        (
            f"{HERE}.AlwaysHealthy",
            "STABILITY_READINESS_CHECKS must be None or a list",
        ),
        (
            ["AlwaysHealthy"],
            "STABILITY_READINESS_CHECKS[0] must be a dotted path, not str",
        ),
        (
            [AlwaysHealthy],
            f"STABILITY_READINESS_CHECKS[0] must be a dotted path, not class {HERE}.AlwaysHealthy.",
        ),
    ],
)
def test_readiness_checks_must_be_dotted_paths(value, start):
    """A bare string, a name without a module or a class object is E021, and the parser refuses it too."""
    with override_settings(STABILITY_READINESS_CHECKS=value):
        [message] = check_error_codes(["E021"])
        with pytest.raises(ImproperlyConfigured) as caught:
            readiness_classes()
    assert message.msg.startswith(start)
    assert str(caught.value).startswith(start)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (
            "no_such_package.Check",
            "'no_such_package.Check' cannot be imported (ModuleNotFoundError",
        ),
        (
            f"{HERE}.Missing",
            f"'{HERE}.Missing' cannot be imported (ImportError: Module \"{HERE}\"",
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
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.AlwaysHealthy", path]):
        [message] = check_error_codes(["E022"])
    assert message.msg.startswith(f"STABILITY_READINESS_CHECKS[1] {problem}")


def test_the_probes_build_the_classes_the_checks_accept():
    """The parser gives None for the defaults, else the classes named."""
    assert readiness_classes() is None
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.AlwaysHealthy"]):
        assert readiness_classes() == [AlwaysHealthy]
