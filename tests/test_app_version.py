"""django_stability.app_version: X-App-Version on every answer, set once, by the outermost middleware."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from django_stability.middleware import CorrelationIdMiddleware
from tests.http_modes import MODES, fetch

modes = pytest.mark.parametrize("mode", MODES)


@modes
@pytest.mark.parametrize(
    ("path", "host", "status"),
    [
        ("/html/ok", None, 301),  # CommonMiddleware's APPEND_SLASH redirect
        ("/html/ok/", "evil.example", 400),  # DisallowedHost, raised before any view
    ],
)
async def test_responses_made_before_the_cache_middleware_carry_the_version(
    mode, path, host, status, settings
):
    """A response that never reaches CacheHeadersMiddleware still carries X-App-Version."""
    settings.STABILITY_APP_VERSION = "7.0.1"
    headers = {"host": host} if host else {}
    response = await fetch(mode, "get", path, headers=headers)
    assert response.status_code == status
    assert response["X-App-Version"] == "7.0.1"


def _versioned(response: HttpResponse) -> HttpResponse:
    response["X-App-Version"] = "set-inside"
    return response


@override_settings(STABILITY_APP_VERSION="from-settings")
@pytest.mark.parametrize("inner_sets_it", [False, True])
def test_correlation_middleware_adds_the_version_only_when_missing_sync(inner_sets_it):
    """Sync: the outermost middleware fills in X-App-Version, and keeps one set inside it."""
    inner = _versioned if inner_sets_it else (lambda response: response)
    middleware = CorrelationIdMiddleware(lambda request: inner(HttpResponse("ok")))
    response = middleware(RequestFactory().get("/"))
    assert response["X-App-Version"] == (
        "set-inside" if inner_sets_it else "from-settings"
    )


@override_settings(STABILITY_APP_VERSION="from-settings")
@pytest.mark.parametrize("inner_sets_it", [False, True])
async def test_correlation_middleware_adds_the_version_only_when_missing_async(
    inner_sets_it,
):
    """Async: the same, for a middleware chain that is a coroutine."""
    inner = _versioned if inner_sets_it else (lambda response: response)

    async def view(request: HttpRequest) -> HttpResponse:
        return inner(HttpResponse("ok"))

    middleware = CorrelationIdMiddleware(view)
    response = await middleware(RequestFactory().get("/"))
    assert response["X-App-Version"] == (
        "set-inside" if inner_sets_it else "from-settings"
    )
