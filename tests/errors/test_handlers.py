"""The error views for the root URLconf: problems for API clients, Django's pages for browsers (errors/_handlers.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import RequestFactory
from django_ratelimit.exceptions import Ratelimited

from django_stability.errors import (
    bad_request,
    csrf_failure,
    page_not_found,
    permission_denied,
    server_error,
)
from tests.errors import BROWSER, body


@pytest.mark.parametrize(
    ("view", "exc", "status", "code"),
    [
        (bad_request, SuspiciousOperation("evil"), 400, "bad_request"),
        (permission_denied, PermissionDenied("evil"), 403, "forbidden"),
        (permission_denied, Ratelimited("evil"), 429, "rate_limited"),
        (page_not_found, Http404("evil"), 404, "not_found"),
        (page_not_found, ValueError("evil"), 404, "not_found"),
    ],
)
def test_error_views_answer_problems_for_api_requests(view, exc, status, code):
    """handler400/403/404 views answer problem+json under the API prefixes, without the message."""
    response = view(RequestFactory().get("/api/x"), exc)
    assert response.status_code == status
    assert body(response)["code"] == code
    assert b"evil" not in response.content
    assert "Vary" not in response


@pytest.mark.parametrize(
    ("view", "exc", "status"),
    [
        (bad_request, SuspiciousOperation("evil"), 400),
        (permission_denied, PermissionDenied("evil"), 403),
        (page_not_found, Http404("evil"), 404),
    ],
)
def test_error_views_keep_djangos_pages_for_browsers(view, exc, status):
    """handler400/403/404 views render Django's default page for browsers, marked Vary: Accept."""
    request = RequestFactory().get("/shop/x", headers={"accept": BROWSER})
    response = view(request, exc)
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert response["Vary"] == "Accept"


def test_ratelimited_in_handler403_for_browsers_is_a_429_page():
    """A Ratelimited reaching handler403 answers a 429 HTML page for browsers too."""
    request = RequestFactory().get("/shop/x", headers={"accept": BROWSER})
    response = permission_denied(request, Ratelimited())
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")


def test_server_error_view():
    """handler500 answers a generic 500 problem for JSON clients and Django's page for browsers."""
    factory = RequestFactory()
    response = server_error(
        factory.get("/shop/x", headers={"accept": "application/json"})
    )
    assert body(response)["code"] == "server_error"
    response = server_error(factory.get("/shop/x", headers={"accept": BROWSER}))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_csrf_failure_view_shows_reason_only_with_debug(settings):
    """CSRF_FAILURE_VIEW answers code csrf_failed; Django's reason appears only with DEBUG on."""
    request = RequestFactory().post("/api/x")
    settings.DEBUG = False
    data = body(csrf_failure(request, "CSRF cookie not set."))
    assert (data["status"], data["code"]) == (403, "csrf_failed")
    assert "cookie" not in data["detail"]
    settings.DEBUG = True
    assert body(csrf_failure(request, "CSRF cookie not set."))["detail"].endswith(
        "CSRF cookie not set."
    )
    browser = RequestFactory().post("/shop/x", headers={"accept": BROWSER})
    assert csrf_failure(browser, "x")["Content-Type"].startswith("text/html")
