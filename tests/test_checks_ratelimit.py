"""System check W040: the rate limit must leave health probes and metrics scrapes alone."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.settings import MIDDLEWARE
from tests.test_checks import check_error_codes

WITH_LIMIT = [
    *MIDDLEWARE[:2],
    "django_stability.middleware.RateLimitMiddleware",
    *MIDDLEWARE[2:],
]


@override_settings(MIDDLEWARE=WITH_LIMIT)
def test_the_default_exemptions_pass():
    """The default STABILITY_RATELIMIT_EXEMPT covers probes and metrics: no message."""
    check_error_codes([])


@override_settings(MIDDLEWARE=WITH_LIMIT, STABILITY_RATELIMIT_EXEMPT=["/static/"])
def test_replacing_the_exemptions_warns_for_probes_and_metrics():
    """An exemption list without the probe and metrics prefixes is W040, once for each."""
    first, second = check_error_codes(["W040", "W040"])
    assert "'/stability/health/'" in first.msg
    assert "'/stability/metrics'" in second.msg
    assert first.obj == "STABILITY_RATELIMIT_EXEMPT"
    assert "healthy instances out of rotation" in str(first.hint)


@override_settings(
    MIDDLEWARE=WITH_LIMIT, STABILITY_RATELIMIT_EXEMPT=["/stability/", "/static/"]
)
def test_a_broader_prefix_covers_both():
    """A prefix such as /stability/ exempts both paths."""
    check_error_codes([])


@pytest.mark.parametrize(
    "settings",
    [
        {"STABILITY_RATELIMIT_EXEMPT": ["/static/"]},  # middleware not installed
        {
            "MIDDLEWARE": WITH_LIMIT,
            "STABILITY_RATELIMIT": None,
            "STABILITY_RATELIMIT_EXEMPT": [],
        },
    ],
)
def test_no_warning_when_nothing_is_limited(settings):
    """Without the middleware, or with the limit disabled, nothing is limited: no W040."""
    with override_settings(**settings):
        check_error_codes([])


@override_settings(MIDDLEWARE=WITH_LIMIT, STABILITY_RATELIMIT_EXEMPT=["/x/", 3])
def test_a_malformed_list_is_left_to_e009():
    """A list with a non-string is reported by E009 alone, not W040 as well."""
    check_error_codes(["E009"])


@override_settings(MIDDLEWARE=WITH_LIMIT, STABILITY_RATELIMIT_EXEMPT=[])
def test_manage_py_check_reports_it():
    """manage.py check --fail-level WARNING fails on W040."""
    with pytest.raises(SystemCheckError, match="W040"):
        call_command("check", fail_level="WARNING")
