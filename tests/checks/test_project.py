"""Project-level checks: setting names, middleware order and the deploy warnings."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from django_stability.checks._message import REMOVED_SETTINGS, Removed
from tests.checks import check_error_codes

# Setting names and removed settings --------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("STABILITY_REDIS_URLS", " (did you mean 'STABILITY_REDIS_URL'?)"),
        ("STABILITY_RATE_LIMIT", " (did you mean 'STABILITY_RATELIMIT'?)"),
        (
            "STABILITY_CORRELATION_HEADER",
            " (did you mean 'STABILITY_CORRELATION_HEADERS'?)",
        ),
        ("STABILTY_REDIS_URL", " (did you mean 'STABILITY_REDIS_URL'?)"),
        ("STABILITY_FROBNICATE", ""),
    ],
)
def test_unknown_stability_setting_warns_with_did_you_mean(name, suggestion):
    """A misspelt setting, which would be silently ignored, is W003 suggesting the real name."""
    with override_settings(**{name: True}):
        [message] = check_error_codes(["W003"])
    assert (
        message.msg
        == f"{name} is not a django-stability setting and is ignored{suggestion}."
    )
    assert message.obj == name


def test_settings_of_other_apps_are_not_flagged():
    """Names that merely share letters with ours (SECURE_*, RATELIMIT_*) give no warning."""
    with override_settings(
        RATELIMIT_ENABLE=True,
        SECURE_REDIRECT_EXEMPT=[],
        REDIS_URL="redis://x",
        STABLE=1,
    ):
        check_error_codes([])


def test_removed_setting_is_an_error_pointing_at_the_changelog(monkeypatch):
    """A setting an earlier release knew is E025 with what to do instead and a pointer to the changelog."""
    monkeypatch.setitem(
        REMOVED_SETTINGS,
        "STABILITY_CACHE_RULES",
        Removed("0.3.0", "use STABILITY_CACHE_POLICIES"),
    )
    with override_settings(STABILITY_CACHE_RULES=[]):
        [message] = check_error_codes(["E025"])
    assert message.msg == (
        "STABILITY_CACHE_RULES was removed in django-stability 0.3.0: use STABILITY_CACHE_POLICIES."
    )
    assert "docs/changelog.rst" in str(message.hint)


def test_removed_settings_are_only_flagged_when_set(monkeypatch):
    """Listing a removed name costs projects that do not set it nothing."""
    monkeypatch.setitem(
        REMOVED_SETTINGS,
        "STABILITY_CACHE_RULES",
        Removed("0.3.0", "use STABILITY_CACHE_POLICIES"),
    )
    check_error_codes([])


# Middleware order -------------------------------------------------------------

OURS = "django_stability.middleware."


@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        (
            [
                OURS + "AccessLogMiddleware",
                OURS + "CorrelationIdMiddleware",
                OURS + "ProblemDetailsMiddleware",
            ],
            ["MIDDLEWARE lists CorrelationIdMiddleware after AccessLogMiddleware."],
        ),
        (
            [
                OURS + "CorrelationIdMiddleware",
                OURS + "ProblemDetailsMiddleware",
                OURS + "CacheHeadersMiddleware",
            ],
            ["MIDDLEWARE lists CacheHeadersMiddleware after ProblemDetailsMiddleware."],
        ),
        (
            [
                OURS + "ProblemDetailsMiddleware",
                "django.middleware.common.CommonMiddleware",
                OURS + "_correlation.CorrelationIdMiddleware",
                OURS + "RateLimitMiddleware",
            ],
            [
                "MIDDLEWARE lists CorrelationIdMiddleware after ProblemDetailsMiddleware.",
                "MIDDLEWARE lists RateLimitMiddleware after ProblemDetailsMiddleware.",
            ],
        ),
        (
            [
                OURS + "CorrelationIdMiddleware",
                OURS + "DeadlineMiddleware",
                OURS + "RateLimitMiddleware",
                OURS + "ProblemDetailsMiddleware",
            ],
            ["MIDDLEWARE lists RateLimitMiddleware after DeadlineMiddleware."],
        ),
    ],
)
def test_misordered_middleware_warns(middleware, expected):
    """CorrelationIdMiddleware must come first of ours and ProblemDetailsMiddleware last: W004 otherwise."""
    with override_settings(MIDDLEWARE=middleware):
        messages = check_error_codes(["W004"] * len(expected))
    assert [m.msg for m in messages] == expected
    assert "CorrelationIdMiddleware, AccessLogMiddleware, RateLimitMiddleware" in str(
        messages[0].hint
    )


@pytest.mark.parametrize(
    "middleware",
    [
        [],
        ["django.middleware.common.CommonMiddleware"],
        [
            OURS + "ProblemDetailsMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        [
            "django.middleware.security.SecurityMiddleware",
            OURS + "CorrelationIdMiddleware",
            OURS + "AccessLogMiddleware",
            OURS + "RateLimitMiddleware",
            "django.middleware.common.CommonMiddleware",
            OURS + "CacheHeadersMiddleware",
            OURS + "ProblemDetailsMiddleware",
        ],
    ],
)
def test_documented_middleware_order_passes(middleware):
    """Any subset of ours in the documented order, mixed with Django's, passes."""
    with override_settings(MIDDLEWARE=middleware):
        check_error_codes([])


# Deploy: STABILITY_REDIS_URL --------------------------------------------------


@override_settings(DEBUG=False)
def test_missing_redis_url_warns_on_deploy_with_debug_off():
    """Without Redis in production, limits and breakers do not agree across workers: W001 on deploy."""
    check_error_codes([])
    [message] = check_error_codes(["W001"], deploy=True)
    assert "do not agree across workers" in message.msg


@override_settings(DEBUG=True)
def test_missing_redis_url_is_fine_in_debug():
    """The in-memory engine is the intended default for runserver."""
    check_error_codes([], deploy=True)


# Deploy: CONN_MAX_AGE under ASGI ----------------------------------------------


def databases(**max_ages: int | None) -> dict[str, dict[str, object]]:
    """A DATABASES setting with the given CONN_MAX_AGE per alias (None = persistent forever)."""
    return {
        alias: {**settings.DATABASES["default"], "CONN_MAX_AGE": age}
        for alias, age in max_ages.items()
    }


@pytest.mark.parametrize(("age", "shown"), [(600, "600"), (None, "None")])
def test_persistent_connections_under_asgi_warn_on_deploy(age, shown):
    """CONN_MAX_AGE > 0 or None with ASGI_APPLICATION set is W002 naming the alias."""
    with (
        pytest.warns(UserWarning, match="Overriding setting DATABASES"),
        override_settings(
            DATABASES=databases(default=0, replica=age),
            ASGI_APPLICATION="example.asgi.application",
            STABILITY_REDIS_URL="redis://cache",
        ),
    ):
        check_error_codes([])
        [message] = check_error_codes(["W002"], deploy=True)
    assert message.msg.startswith(
        f"DATABASES['replica']['CONN_MAX_AGE'] is {shown} while the project runs under ASGI "
        "(ASGI_APPLICATION is set)"
    )
    assert "#33497" in message.msg


def test_channels_in_installed_apps_counts_as_asgi():
    """Installing channels is taken as running under ASGI, without ASGI_APPLICATION."""
    with (
        pytest.warns(UserWarning, match="Overriding setting DATABASES"),
        override_settings(
            DATABASES=databases(default=60),
            INSTALLED_APPS=[*settings.INSTALLED_APPS, "channels"],
            STABILITY_REDIS_URL="redis://cache",
            STABILITY_REALTIME={
                "CHANNELS": {"notes": "authenticated"}
            },  # not W041's business
        ),
    ):
        [message] = check_error_codes(["W002"], deploy=True)
    assert "('channels' is in INSTALLED_APPS)" in message.msg


def test_persistent_connections_under_wsgi_are_fine():
    """Without any sign of ASGI, CONN_MAX_AGE is Django's business."""
    with (
        pytest.warns(UserWarning, match="Overriding setting DATABASES"),
        override_settings(
            DATABASES=databases(default=600), STABILITY_REDIS_URL="redis://cache"
        ),
    ):
        check_error_codes([], deploy=True)


def test_asgi_without_persistent_connections_is_fine():
    """CONN_MAX_AGE 0 (or unset) under ASGI gives no warning."""
    with override_settings(
        ASGI_APPLICATION="example.asgi.application", STABILITY_REDIS_URL="redis://cache"
    ):
        check_error_codes([], deploy=True)
