"""System checks of STABILITY_CACHE_POLICIES: shape, Cache-Control syntax, shadowed prefixes."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.test_checks import check_error_codes

# STABILITY_CACHE_POLICIES -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("no-store", "STABILITY_CACHE_POLICIES must be a list"),
        ({"/api/": "no-store"}, "STABILITY_CACHE_POLICIES must be a list"),
        (
            [("/api/",)],
            "STABILITY_CACHE_POLICIES[0] must be a (path prefix, Cache-Control value) pair",
        ),
        (
            ["/api/"],
            "STABILITY_CACHE_POLICIES[0] must be a (path prefix, Cache-Control value) pair",
        ),
        (
            [("/a/", "no-store"), ("api/", "no-store")],
            "STABILITY_CACHE_POLICIES[1][0] must be a path prefix",
        ),
        (
            [("/api/", 600)],
            "STABILITY_CACHE_POLICIES[0][1] must be a Cache-Control string, not int 600",
        ),
    ],
)
def test_cache_policies_must_be_prefix_value_pairs(value, where):
    """A policy list of the wrong shape is E005, naming the item and the part of the pair."""
    with override_settings(STABILITY_CACHE_POLICIES=value):
        [message] = check_error_codes(["E005"])
    assert message.msg.startswith(where)


@pytest.mark.parametrize(
    "policy",
    [
        "",
        "   ",
        "max-age=",
        "max-age=abc",
        'max-age="60"',
        "max-age",
        "s-maxage=-1",
        "no-store,",
        ", no-store",
        "no-store,, public",
        "no store",
        "no-store; max-age=0",
        "public=1",
        'private="Set-Cookie',
        "max-age=60, max-age=120",
        "no-store\r\nX-Injected: 1",
    ],
)
def test_malformed_cache_control_is_an_error(policy):
    """A Cache-Control value that breaks RFC 9110/9111 syntax is E006 naming the policy."""
    with override_settings(STABILITY_CACHE_POLICIES=[("/api/", policy)]):
        [message] = check_error_codes(["E006"])
    assert message.msg.startswith("STABILITY_CACHE_POLICIES[0][1] ")


@pytest.mark.parametrize(
    "policy",
    [
        "no-store",
        "Public, Max-Age=60",
        "public, max-age=86400, immutable",
        'private="Set-Cookie, X-Session", max-age=0, must-revalidate',
        "no-cache, stale-while-revalidate=30, stale-if-error=600",
        "s-maxage=0,proxy-revalidate",
    ],
)
def test_valid_cache_control_passes(policy):
    """Standard response directives, quoted field lists and any letter case are accepted."""
    with override_settings(STABILITY_CACHE_POLICIES=[("/", policy)]):
        check_error_codes([])


def test_unknown_cache_directive_warns_with_a_suggestion():
    """A misspelt or request-only directive is W007, suggesting the closest response directive."""
    with override_settings(
        STABILITY_CACHE_POLICIES=[("/a/", "max_age=60, only-if-cached")]
    ):
        messages = check_error_codes(["W007", "W007"])
    assert (
        "'max_age', which is not a response Cache-Control directive (did you mean 'max-age'?)"
        in messages[0].msg
    )


def test_shadowed_cache_policy_warns():
    """A policy whose prefix an earlier one already covers never applies: W008."""
    value = [
        ("/", "no-cache"),
        ("/static/", "public, max-age=60"),
        ("/a/", "no-store"),
        ("/a/", "no-cache"),
    ]
    with override_settings(STABILITY_CACHE_POLICIES=value):
        messages = check_error_codes(["W008", "W008", "W008"])
    assert messages[0].msg.startswith(
        "STABILITY_CACHE_POLICIES[1] never applies: the earlier prefix '/'"
    )
