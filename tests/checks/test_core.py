"""System checks of the settings the request path reads (checks/_core.py).

The shared-state URL, the version header, the correlation headers and the cache
policies (the API prefixes: ``tests/test_checks_features.py``).
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.checks import check_error_codes

# STABILITY_REDIS_URL ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://",
        "REDIS://cache",
        "rediss://user:secret@cache.internal:6380/3",
        "redis://cache/?db=2",
        "unix:///run/redis/redis.sock",
        "unix:///run/redis/redis.sock?db=1",
        None,
    ],
)
def test_redis_url_accepts_redis_rediss_unix_and_none(url):
    """Every URL form redis-py's from_url() understands is accepted."""
    with override_settings(STABILITY_REDIS_URL=url):
        check_error_codes([])


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (6379, "must be None or a Redis URL string, not int"),
        ("", "must start with redis://, rediss:// or unix:// (found 'no scheme')"),
        ("127.0.0.1:6379", "(found 'no scheme')"),
        ("http://:hunter2@cache:6379/0", "(found 'http://')"),
        ("redis://:hunter2@cache:port/0", "has an invalid port"),
        (
            "redis://:hunter2@cache:6379/zero",
            "database number that is not a whole number",
        ),
        ("redis://cache/?db=one", "database number that is not a whole number"),
        ("unix://", "has no socket path"),
    ],
)
def test_redis_url_rejects_what_redis_py_cannot_use(url, problem):
    """A URL redis-py cannot connect with is E001, and its password never appears in the message."""
    with override_settings(STABILITY_REDIS_URL=url):
        [message] = check_error_codes(["E001"])
    assert message.msg.startswith("STABILITY_REDIS_URL ")
    assert problem in message.msg
    assert "hunter2" not in message.msg + str(message.hint)


# STABILITY_APP_VERSION --------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        (1.0, "must be a string, not float 1.0"),
        ("", "is empty"),
        (
            "1.0\r\nSet-Cookie: x=y",
            r"contains the control character '\r' at position 3",
        ),
        ("1.0\x1b[31m", r"contains the control character '\x1b' at position 3"),
        ("1.0\x7f", r"contains the control character '\x7f' at position 3"),
        ("v1-été", "contains the non-ASCII character 'é' at position 3"),
        (
            " 1.0",
            "has leading or trailing spaces, which HTTP strips from header values",
        ),
    ],
)
def test_app_version_must_be_header_safe(version, problem):
    """A version that cannot travel unchanged as X-App-Version is E002, naming the character and position."""
    with override_settings(STABILITY_APP_VERSION=version):
        [message] = check_error_codes(["E002"])
    assert message.msg == f"STABILITY_APP_VERSION {problem}."


def test_bad_app_version_from_the_environment_names_the_variable(monkeypatch):
    """When the default comes from APP_VERSION, the error points at that environment variable."""
    monkeypatch.setenv("APP_VERSION", "2.0\n")
    [message] = check_error_codes(["E002"])
    assert message.msg.startswith(
        "The APP_VERSION environment variable (default of STABILITY_APP_VERSION) contains"
    )


# STABILITY_CORRELATION_HEADERS ------------------------------------------------


@pytest.mark.parametrize("value", ["X-Request-ID", [], (), None, {"X-Request-ID": 1}])
def test_correlation_headers_must_be_a_non_empty_list(value):
    """A bare string, an empty list or another type is E003."""
    with override_settings(STABILITY_CORRELATION_HEADERS=value):
        check_error_codes(["E003"])


def test_correlation_headers_reject_invalid_names_by_index():
    """Each invalid header name is its own E004, naming its index and value."""
    value = ["X-Request-ID", "X Request", "", 42, "X-Trace\n", "Trace:Id"]
    with override_settings(STABILITY_CORRELATION_HEADERS=value):
        messages = check_error_codes(["E004"] * 5)
    assert (
        messages[0].msg
        == "STABILITY_CORRELATION_HEADERS[1] is not a valid HTTP header name: str 'X Request'."
    )
    assert [m.msg.split("]")[0][-1] for m in messages] == ["1", "2", "3", "4", "5"]


def test_correlation_headers_warn_on_case_insensitive_duplicates():
    """Listing the same header twice, in any case, is W005."""
    with override_settings(
        STABILITY_CORRELATION_HEADERS=[
            "X-Request-ID",
            "X-Correlation-ID",
            "x-request-id",
        ]
    ):
        [message] = check_error_codes(["W005"])
    assert message.msg.startswith(
        "STABILITY_CORRELATION_HEADERS[2] repeats 'x-request-id'"
    )


def test_correlation_headers_warn_on_underscores():
    """A header name with an underscore, which servers drop, is W006."""
    with override_settings(STABILITY_CORRELATION_HEADERS=["X_Request_ID"]):
        check_error_codes(["W006"])


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
