"""System checks of the rate-limit settings and the trusted proxies (django_stability.ratelimit._checks)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.checks import check_error_codes
from tests.settings import MIDDLEWARE

WITH_LIMIT = [
    *MIDDLEWARE[:2],
    "django_stability.middleware.RateLimitMiddleware",
    *MIDDLEWARE[2:],
]

# W040: the rate limit leaves health probes and metrics scrapes alone ----------


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


# STABILITY_RATELIMIT and STABILITY_RATELIMIT_FAIL_OPEN ------------------------


@pytest.mark.parametrize("value", [None, "1/s", "5/10m", "100/300", "10000/d"])
def test_ratelimit_accepts_rates_and_none(value):
    """None disables the global limit; any rate of the grammar is accepted."""
    with override_settings(STABILITY_RATELIMIT=value):
        check_error_codes([])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("100/minute", "is an invalid rate '100/minute': expected"),
        ("100/M", "is an invalid rate '100/M': expected"),
        ("0/s", "the count must be at least 1"),
        (100, "must be a rate string such as '100/s', not int 100"),
        ((100, 1), "must be a rate string such as '100/s', not tuple (100, 1)"),
    ],
)
def test_ratelimit_rejects_malformed_rates(value, problem):
    """A rate django-ratelimit would misread, or a non-string, is E008."""
    with override_settings(STABILITY_RATELIMIT=value):
        [message] = check_error_codes(["E008"])
    assert problem in message.msg


@pytest.mark.parametrize("value", ["false", 0, 1, None])
def test_ratelimit_fail_open_must_be_a_bool(value):
    """A truthy or falsy non-bool (the string "false" is truthy) is E010."""
    with override_settings(STABILITY_RATELIMIT_FAIL_OPEN=value):
        check_error_codes(["E010"])


# STABILITY_TRUSTED_PROXIES ----------------------------------------------------


def test_trusted_proxies_accept_addresses_and_networks():
    """Single addresses and CIDR networks of both families are accepted, CDN-sized ones too."""
    value = [
        "10.0.0.0/8",
        "192.0.2.10",
        "fd00::/8",
        "2001:db8::1",
        "104.16.0.0/13",
        "2400:cb00::/32",
        "fc00::/7",
    ]
    with override_settings(STABILITY_TRUSTED_PROXIES=value):
        check_error_codes([])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "10.0.0.0/8",
            "STABILITY_TRUSTED_PROXIES must be a list of IP addresses or networks, not str",
        ),
        (
            ["10.0.0.1/8"],
            "STABILITY_TRUSTED_PROXIES[0] is not an IP address or network: 10.0.0.1/8 has host bits set",
        ),
        (
            ["proxy.internal"],
            "STABILITY_TRUSTED_PROXIES[0] is not an IP address or network:",
        ),
        (
            ["10.0.0.0/33"],
            "STABILITY_TRUSTED_PROXIES[0] is not an IP address or network:",
        ),
        (
            [167772160],
            "STABILITY_TRUSTED_PROXIES[0] must be an IP address or network string, not int",
        ),
    ],
)
def test_trusted_proxies_reject_what_is_not_an_ip_or_cidr(value, problem):
    """Host names, host bits, impossible prefixes and non-strings are E011 naming the item."""
    with override_settings(STABILITY_TRUSTED_PROXIES=value):
        [message] = check_error_codes(["E011"])
    assert message.msg.startswith(problem)


@pytest.mark.parametrize("network", ["0.0.0.0/0", "128.0.0.0/1", "::/0", "2000::/3"])
def test_trusted_proxies_warn_on_huge_public_networks(network):
    """Trusting a network anyone can be in lets clients pick their own IP: W009."""
    with override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8", network]):
        [message] = check_error_codes(["W009"])
    assert message.msg.startswith(f"STABILITY_TRUSTED_PROXIES[1] '{network}' trusts")
