"""django_stability.errors: the problem object, the mapping, ApplicationError, Accept, handlers."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.test import RequestFactory
from django_ratelimit.exceptions import Ratelimited

from django_stability.correlation import correlation_scope
from django_stability.errors import (
    ApplicationError,
    Problem,
    bad_request,
    csrf_failure,
    page_not_found,
    permission_denied,
    problem_for_exception,
    problem_response,
    register_problem,
    server_error,
    wants_problem,
)
from django_stability.errors._negotiation import (
    api_prefixes,
    is_json_type,
    prefers_json,
)

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Quota(Exception):
    """Registered below as 429 with a retry hint."""

    def __init__(self, message: str, retry_after: object = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HourlyQuota(Quota):
    """Registered apart from its parent."""


class DailyQuota(Quota):
    """Not registered: inherits Quota's mapping."""


register_problem(Quota, status=429, code="quota", detail="Quota exhausted.")
register_problem(HourlyQuota, status=429, code="hourly_quota", title="Hourly quota")


class Conflict(ApplicationError):
    """A subclass with its own constructor signature."""

    def __init__(self, order: int) -> None:
        super().__init__(f"order {order} is closed", code="order_closed", status=409)
        self.order = order


def body(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    result: dict[str, Any] = json.loads(response.content)
    return result


# --- the mapping table ---


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404("no such order 7"), 404, "not_found"),
        (PermissionDenied("user 9 is not staff"), 403, "forbidden"),
        (BadRequest("field x"), 400, "bad_request"),
        (SuspiciousOperation("path traversal"), 400, "bad_request"),
        (DisallowedHost("evil.example"), 400, "bad_request"),
        (RequestDataTooBig("2.5 MB"), 400, "bad_request"),
        (MultiPartParserError("boundary"), 400, "bad_request"),
        (Ratelimited("10.0.0.1"), 429, "rate_limited"),
        (Quota("tenant 4", retry_after=3), 429, "quota"),
        (DailyQuota("tenant 4"), 429, "quota"),
        (HourlyQuota("tenant 4"), 429, "hourly_quota"),
        (KeyError("password"), 500, "server_error"),
        (RuntimeError("dsn=postgres://u:p@db"), 500, "server_error"),
    ],
)
def test_mapping_table_hides_exception_text(exc, status, code, settings):
    """Each exception maps to its status and code; its message never reaches the detail with DEBUG off."""
    settings.DEBUG = False
    problem = problem_for_exception(exc)
    assert (problem.status, problem.code) == (status, code)
    assert str(exc).strip("'") not in problem.detail
    assert problem.type == "about:blank"


def test_ratelimited_maps_before_its_permission_denied_parent():
    """Ratelimited subclasses PermissionDenied, yet maps to 429, not 403."""
    assert issubclass(Ratelimited, PermissionDenied)
    assert problem_for_exception(Ratelimited()).status == 429


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (Http404("no such order 7"), "no such order 7"),
        (Quota("tenant 4"), "tenant 4"),
        (KeyError("password"), "KeyError: 'password'"),
        (ValueError(), "ValueError"),
    ],
)
def test_debug_shows_the_message(exc, detail, settings):
    """With DEBUG on, the detail is the exception's message (class-prefixed for 500s)."""
    settings.DEBUG = True
    assert problem_for_exception(exc).detail == detail


def test_debug_empty_message_falls_back_to_generic_detail(settings):
    """With DEBUG on, an exception without a message still gets the generic detail."""
    settings.DEBUG = True
    assert (
        problem_for_exception(Http404()).detail
        == "The requested resource was not found."
    )


def test_registered_title_and_default_detail():
    """A registered mapping's title is used, and its detail defaults to the status's generic one."""
    problem = problem_for_exception(HourlyQuota("x"))
    assert problem.title == "Hourly quota"
    assert problem.detail == "Too many requests; retry later."


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [
        (3, 3),
        (2.01, 3),
        (0, 0),
        (-1, None),
        (float("nan"), None),
        (True, None),
        ("5", None),
        (None, None),
    ],
)
def test_retry_after_attribute_is_whole_seconds_or_absent(retry_after, header):
    """A numeric retry_after rounds up to whole seconds; anything else gives no Retry-After."""
    assert (
        problem_for_exception(Quota("x", retry_after=retry_after)).retry_after == header
    )


@pytest.mark.parametrize("status", [399, 600, 200, "404", True, None])
def test_register_problem_rejects_bad_status(status):
    """register_problem refuses a status outside 400-599."""
    with pytest.raises(ValueError, match="400 to 599"):
        register_problem(Quota, status=status, code="x")


def test_register_problem_rejects_empty_code():
    """register_problem refuses an empty code."""
    with pytest.raises(ValueError, match="code"):
        register_problem(Quota, status=429, code="")


# --- ApplicationError ---


def test_application_error_detail_is_shown_even_without_debug(settings):
    """ApplicationError's detail, code, status, title and type are answered as given."""
    settings.DEBUG = False
    error = ApplicationError(
        "Order 7 is closed.",
        code="order_closed",
        status=409,
        title="Closed",
        type="urn:x:closed",
    )
    problem = problem_for_exception(error)
    assert problem == Problem(
        409, "order_closed", "Closed", "Order 7 is closed.", "urn:x:closed"
    )
    assert str(error) == "Order 7 is closed."


@pytest.mark.parametrize("status", [200, 399, 600, 1000, "409", False])
def test_application_error_rejects_bad_status(status):
    """ApplicationError refuses a status outside 400-599 when raised, not when answered."""
    with pytest.raises(ValueError, match="400 to 599"):
        ApplicationError("x", code="c", status=status)


def test_application_error_needs_a_code():
    """ApplicationError refuses an empty code."""
    with pytest.raises(ValueError, match="code"):
        ApplicationError("x", code="")


@pytest.mark.parametrize(
    "error",
    [
        ApplicationError(
            "busy", code="busy", status=503, title="Busy", retry_after=1.5
        ),
        Conflict(7),
    ],
)
def test_application_errors_survive_pickling(error):
    """ApplicationError and subclasses with their own signature pickle (task queues, multiprocessing)."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.problem() == error.problem()
    assert copy.problem().retry_after == error.problem().retry_after
    assert copy.args == error.args


# --- Problem and problem_response ---


def test_problem_response_shape_and_correlation_id():
    """problem_response renders the six members, with the current correlation ID."""
    with correlation_scope("abc-123"):
        response = problem_response(404)
    assert body(response) == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "The requested resource was not found.",
        "code": "not_found",
        "correlation_id": "abc-123",
    }
    assert "Retry-After" not in response


def test_problem_outside_a_request_has_null_correlation_id():
    """Outside any request the correlation_id member is null, not missing."""
    assert body(problem_response(400))["correlation_id"] is None


def test_problem_response_arguments_and_headers():
    """Given members replace the generic ones; headers and Retry-After are added."""
    response = problem_response(
        503,
        detail="Payments are down.",
        code="payments_down",
        title="Payments unavailable",
        type="https://errors.example/payments-down",
        retry_after=29.2,
        headers={"Cache-Control": "no-store"},
    )
    data = body(response)
    assert (data["detail"], data["code"], data["title"]) == (
        "Payments are down.",
        "payments_down",
        "Payments unavailable",
    )
    assert data["type"] == "https://errors.example/payments-down"
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (418, "http_418", "I'm a Teapot"),
        (499, "http_499", "Error"),
        (599, "http_599", "Error"),
    ],
)
def test_uncommon_statuses_get_stable_codes(status, code, title):
    """A status without a generic entry gets the code http_<status> and a non-empty detail."""
    problem = Problem.for_status(status)
    assert (problem.code, problem.title) == (code, title)
    assert problem.detail


@pytest.mark.parametrize("status", [200, 302, 600, 99])
def test_problem_response_rejects_non_error_status(status):
    """A problem is an error: statuses outside 400-599 are refused."""
    with pytest.raises(ValueError, match="400 to 599"):
        problem_response(status)


def test_body_is_ascii_json_and_html_page_is_escaped():
    """Non-ASCII and markup in the detail are escaped in JSON and in the HTML page."""
    problem = Problem.for_status(400, detail='Café <b>"x"</b>\n')
    raw = problem.body()
    assert raw.isascii()
    assert json.loads(raw)["detail"] == 'Café <b>"x"</b>\n'
    html = problem.to_html_response().content
    assert b"&lt;b&gt;" in html
    assert b"<b>" not in html


def test_html_page_shows_the_correlation_id():
    """A person reading the error page can quote the ID the logs carry."""
    with correlation_scope("ticket-42"):
        html = Problem.for_status(503).to_html_response().content.decode()
    assert "Reference: <code>ticket-42</code>" in html
    assert (
        "Reference" not in Problem.for_status(503).to_html_response().content.decode()
    )


# --- Accept negotiation ---


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("application/vnd.api+json", True),
        ("APPLICATION/JSON", True),
        ("application/json, text/plain, */*", True),
        ("application/*", True),
        ("text/html;q=0.5, application/json", True),
        ("text/html;q=0, */*", True),
        ("application/json;q=0.9, text/*;q=0.1", True),
        ("", False),
        ("*/*", False),
        ("text/html", False),
        (BROWSER, False),
        ("application/json, text/html", False),
        ("text/html, application/json", False),
        ("application/json;q=0", False),
        ("application/json;q=0, */*", False),
        ("application/json;q=0.5, text/html;q=0.6", False),
        ("text/plain", False),
        ("*/json", False),
        ("application/json;q=abc", False),
        ("application/json;q=2", False),
        ("application/json;q=nan", False),
        ("application/json;q=inf", False),
        ("json", False),
        (",,,;;;", False),
        ("\x00\x1b[31m", False),
        ("application/json" + ", x/y" * 5000, True),
    ],
)
def test_prefers_json(accept, expected):
    """JSON must beat HTML by quality, or tie it with a more specific range; garbage is ignored."""
    assert prefers_json(accept) is expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("Application/JSON; charset=utf-8", True),
        ("text/html; charset=utf-8", False),
        ("text/json-ish", False),
        ("", False),
    ],
)
def test_is_json_type(content_type, expected):
    """JSON content types are application/json and any +json type, parameters ignored."""
    assert is_json_type(content_type) is expected


def test_wants_problem_by_prefix_or_accept(settings):
    """A request wants problems under a prefix, or when it prefers JSON; explicit prefixes override."""
    factory = RequestFactory()
    assert wants_problem(factory.get("/api/x", headers={"accept": BROWSER}))
    assert not wants_problem(factory.get("/shop/x", headers={"accept": BROWSER}))
    assert wants_problem(factory.get("/shop/x", headers={"accept": "application/json"}))
    assert wants_problem(factory.get("/shop/x"), ("/shop/",))


def test_api_prefixes_cache_refreshes_on_setting_change(settings):
    """The cached prefix tuple follows STABILITY_API_PREFIXES when it changes."""
    settings.STABILITY_API_PREFIXES = ["/v1/"]
    assert api_prefixes() == ("/v1/",)
    settings.STABILITY_API_PREFIXES = ["/v2/", "/v3/"]
    assert api_prefixes() == ("/v2/", "/v3/")


# --- error views for the root URLconf ---


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
