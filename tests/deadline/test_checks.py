"""``STABILITY_DEADLINES``: its system checks (E052, W050) and its parser."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.deadline._settings import configured, parse_header
from tests.checks import check_error_codes
from tests.deadline.support import MIDDLEWARE


@override_settings(MIDDLEWARE=MIDDLEWARE)
def test_valid_deadlines_pass_and_the_longest_prefix_wins():
    """Prefixes with positive budgets pass; a path takes the budget of its longest matching prefix."""
    value = {"/api/": 10, "/api/reports/": 60.5}
    with override_settings(STABILITY_DEADLINES=value):
        check_error_codes([])
        budget = configured()
    assert budget("/api/reports/2024") == 60.5
    assert budget("/api/notes/") == 10
    assert budget("/admin/") is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        ["/api/", 10],
        {"api/": 10},
        {3: 10},
        {"/api/": 0},
        {"/api/": -1},
        {"/api/": "10"},
        {"/api/": True},
        {"/api/": float("inf")},
        {"/api/": float("nan")},
    ],
)
@override_settings(MIDDLEWARE=MIDDLEWARE)
def test_malformed_deadlines_are_e052(value):
    """Not a dict, a key that is not a path prefix, or a budget that is not positive seconds."""
    with override_settings(STABILITY_DEADLINES=value):
        check_error_codes(["E052"])
        with pytest.raises(ImproperlyConfigured, match="STABILITY_DEADLINES"):
            configured()


def test_deadlines_without_the_middleware_warn():
    """Deadlines set but DeadlineMiddleware missing from MIDDLEWARE: W050."""
    with override_settings(STABILITY_DEADLINES={"/api/": 10}):
        [message] = check_error_codes(["W050"])
    assert "DeadlineMiddleware" in message.msg


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("10", 10.0), ("2.5", 2.5), ("0.125", 0.125), ("999999", 999999.0)],
)
def test_a_well_formed_header_gives_seconds(value, seconds):
    """1-6 digits with up to three decimals."""
    assert parse_header(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "0.000",
        "-1",
        "1e3",
        "inf",
        "nan",
        "1.2345",
        "1234567",
        " 5",
        "5s",
        "١٢",
        "5,0",
    ],
)
def test_a_malformed_header_gives_nothing(value):
    """Zero, signs, exponents, units, too many digits and non-ASCII digits are malformed."""
    assert parse_header(value) is None
