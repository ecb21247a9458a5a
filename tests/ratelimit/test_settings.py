"""The global-limit settings are parsed once: the middleware, the decorator and the checks agree."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from django_stability.middleware import RateLimitMiddleware
from django_stability.ratelimit import ratelimit
from django_stability.ratelimit._settings import (
    exempt_setting,
    fail_open_setting,
    global_rate_setting,
)
from tests.checks import check_error_codes
from tests.http_modes import MODES
from tests.ratelimit.support import fetch


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("STABILITY_RATELIMIT", "100/minute", "E008"),
        ("STABILITY_RATELIMIT", 100, "E008"),
        ("STABILITY_RATELIMIT_EXEMPT", "/static/", "E009"),
        ("STABILITY_RATELIMIT_EXEMPT", ["/ok/", "static/"], "E009"),
        ("STABILITY_RATELIMIT_EXEMPT", ["/ok/", None], "E009"),
        ("STABILITY_RATELIMIT_FAIL_OPEN", "false", "E010"),
        ("STABILITY_RATELIMIT_FAIL_OPEN", 0, "E010"),
    ],
)
def test_what_the_check_rejects_the_middleware_refuses(
    setting: str, value: Any, code: str
) -> None:
    """A value the system check reports stops the middleware from being built, naming the setting."""
    with override_settings(**{setting: value}):
        check_error_codes([code])
        with pytest.raises(ImproperlyConfigured, match=setting):
            RateLimitMiddleware(_ok)


@pytest.mark.parametrize(
    "settings",
    [
        {"STABILITY_RATELIMIT": None},
        {"STABILITY_RATELIMIT": "5/10m", "STABILITY_RATELIMIT_EXEMPT": ()},
        {"STABILITY_RATELIMIT_EXEMPT": ["/a", "/b/"]},
        {"STABILITY_RATELIMIT_FAIL_OPEN": False},
    ],
)
def test_what_the_check_accepts_the_middleware_runs_with(
    settings: dict[str, Any],
) -> None:
    """A value the system check accepts builds a middleware that answers requests."""
    with override_settings(**settings):
        check_error_codes([])
        middleware = RateLimitMiddleware(_ok)
        assert middleware(RequestFactory().get("/a")).status_code == 200


def test_the_decorator_reads_fail_open_as_the_middleware_does() -> None:
    """A truthy string is no flag for a limited view either: ImproperlyConfigured, not "fail open"."""
    view = ratelimit(rate="5/m")(_ok)
    with (
        override_settings(STABILITY_RATELIMIT_FAIL_OPEN="false"),
        pytest.raises(ImproperlyConfigured, match="STABILITY_RATELIMIT_FAIL_OPEN"),
    ):
        view(RequestFactory().get("/"))


def test_each_parsed_setting_follows_override_settings() -> None:
    """The memoised rate, exemptions and flag are dropped when a setting changes."""
    assert global_rate_setting() is not None
    assert fail_open_setting() is True
    assert not exempt_setting()("/x/1")
    with override_settings(
        STABILITY_RATELIMIT=None,
        STABILITY_RATELIMIT_FAIL_OPEN=False,
        STABILITY_RATELIMIT_EXEMPT=["/x/"],
    ):
        assert global_rate_setting() is None
        assert fail_open_setting() is False
        assert exempt_setting()("/x/1")
    assert global_rate_setting() is not None
    assert fail_open_setting() is True
    assert not exempt_setting()("/x/1")


@pytest.mark.parametrize("mode", MODES)
async def test_a_new_exemption_applies_to_the_next_request(mode, limits, ip):
    """Requests see STABILITY_RATELIMIT_EXEMPT as it is now, not as the middleware first read it."""
    counted = await fetch(mode, "/api/ok", ip=ip)
    assert "RateLimit-Limit" in counted
    with override_settings(STABILITY_RATELIMIT_EXEMPT=["/api/"]):
        exempt = await fetch(mode, "/api/ok", ip=ip)
    assert exempt.status_code == 200
    assert "RateLimit-Limit" not in exempt
