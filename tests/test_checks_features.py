"""System checks of the prefix settings (breakers: tests/breakers/test_checks.py; rate limits and proxies: tests/ratelimit/test_checks.py)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.checks import check_error_codes

# STABILITY_API_PREFIXES and STABILITY_RATELIMIT_EXEMPT ------------------------


@pytest.mark.parametrize(
    ("setting", "code"),
    [("STABILITY_API_PREFIXES", "E007"), ("STABILITY_RATELIMIT_EXEMPT", "E009")],
)
@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("/api/", " must be a list of path prefixes, not str '/api/'"),
        (None, " must be a list of path prefixes, not NoneType None"),
        (
            ["/ok/", "api/"],
            "[1] must be a path prefix starting with '/', not str 'api/'",
        ),
        (
            ["/ok/", b"/api/"],
            "[1] must be a path prefix starting with '/', not bytes b'/api/'",
        ),
    ],
)
def test_prefix_lists_must_be_lists_of_absolute_prefixes(setting, code, value, where):
    """A bare string, another type or a prefix without a leading slash is an error naming the item."""
    with override_settings(**{setting: value}):
        [message] = check_error_codes([code])
    assert message.msg == f"{setting}{where}."


@pytest.mark.parametrize(
    "setting", ["STABILITY_API_PREFIXES", "STABILITY_RATELIMIT_EXEMPT"]
)
def test_prefix_lists_may_be_empty(setting):
    """An empty list (no API paths, nothing exempt) is valid."""
    with override_settings(**{setting: []}):
        check_error_codes([])
