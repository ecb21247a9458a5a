"""ProblemDetailsMiddleware through the real WSGI and ASGI handlers, sync and async views: what becomes a problem.

Who gets a problem and who keeps Django's page (Accept, API prefixes, DEBUG): ``test_problem_negotiation.py``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory

from django_stability.logging import configure
from django_stability.middleware import ProblemDetailsMiddleware
from tests.http_modes import MODES, fetch

PROBLEM = "application/problem+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
AXIOS = "application/json, text/plain, */*"
MEMBERS = {"type", "title", "status", "detail", "code", "correlation_id"}

# (sync view prefix, async view prefix) under /api/ and /html/
API_VIEWS = ("/api/", "/api/async/")
HTML_VIEWS = ("/html/", "/html/async/")

modes = pytest.mark.parametrize("mode", MODES)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """JSON log lines written through django_stability.logging.configure()."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure(json=True, level="INFO", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == MEMBERS
    assert body["status"] == response.status_code
    assert body["correlation_id"] == response["X-Correlation-ID"]
    return body


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_deep_failure_is_a_500_problem_logged_once_with_id_and_traceback(
    mode, base, log_lines
):
    """A view raising deep inside answers a generic 500 problem; the one log line has the ID and the traceback."""
    response = await fetch(mode, "get", f"{base}fail/500/")
    assert response.status_code == 500
    body = problem(response)
    assert body["code"] == "server_error"
    assert b"secret internal detail" not in response.content
    assert b"ZeroDivisionError" not in response.content
    errors = [line for line in log_lines() if line["logger"] == "django.request"]
    assert len(errors) == 1
    assert errors[0]["level"] == "error"
    assert errors[0]["correlation_id"] == body["correlation_id"]
    assert "Traceback (most recent call last)" in errors[0]["exception"]
    assert "ZeroDivisionError: secret internal detail 42" in errors[0]["exception"]
    assert "tests/endpoints.py" in errors[0]["exception"]
    assert "in _deep" in errors[0]["exception"]


@modes
@pytest.mark.parametrize("base", API_VIEWS)
@pytest.mark.parametrize(
    ("kind", "status", "code", "detail"),
    [
        ("404", 404, "not_found", "The requested resource was not found."),
        ("403", 403, "forbidden", "You do not have permission to perform this action."),
        ("400", 400, "bad_request", "The request could not be processed."),
        ("suspicious", 400, "bad_request", "The request could not be processed."),
        ("app", 409, "order_closed", "the order is closed"),
        ("unknown-kind", 500, "server_error", None),
    ],
)
async def test_exceptions_map_to_problems_without_exception_text(
    mode, base, kind, status, code, detail
):
    """Http404, PermissionDenied, BadRequest, SuspiciousOperation, ApplicationError and others map per the table."""
    response = await fetch(mode, "get", f"{base}fail/{kind}/")
    assert response.status_code == status
    body = problem(response)
    assert body["code"] == code
    assert body["type"] == "about:blank"
    if detail is not None:
        assert body["detail"] == detail
    for leaked in (
        b"no such thing",
        b"not yours",
        b"weird",
        b"KeyError",
        b"unknown-kind",
    ):
        assert leaked not in response.content


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_ratelimited_is_429_not_403(mode, base):
    """django-ratelimit's Ratelimited (a PermissionDenied) answers 429 rate_limited, message hidden."""
    response = await fetch(mode, "get", f"{base}more/ratelimited/")
    assert response.status_code == 429
    assert problem(response)["code"] == "rate_limited"
    assert b"10.1.2.3" not in response.content


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_registered_exception_uses_its_mapping_and_retry_after(mode, base):
    """An exception registered with register_problem answers its status, code, detail and Retry-After."""
    response = await fetch(mode, "get", f"{base}more/upstream/")
    assert response.status_code == 503
    body = problem(response)
    assert (body["code"], body["detail"]) == (
        "upstream_down",
        "The upstream service is down.",
    )
    assert response["Retry-After"] == "8"
    assert b"db-internal" not in response.content


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_application_error_retry_after_is_whole_seconds(mode, base):
    """ApplicationError(retry_after=2.5) answers Retry-After: 3 with its own detail."""
    response = await fetch(mode, "get", f"{base}more/retry/")
    assert response.status_code == 503
    assert problem(response)["detail"] == "The ledger is busy."
    assert response["Retry-After"] == "3"


@modes
async def test_unknown_url_under_api_is_a_404_problem(mode):
    """A 404 from the URL resolver (no view ran) is a problem under the API prefixes."""
    response = await fetch(mode, "get", "/api/no/such/path/")
    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


@modes
async def test_csrf_rejection_under_api_is_a_403_problem(mode):
    """CsrfViewMiddleware's HTML 403 becomes a problem under the API prefixes."""
    response = await fetch(mode, "post", "/api/ok/", csrf=True)
    assert response.status_code == 403
    assert problem(response)["code"] == "forbidden"


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_django_html_error_response_is_rewritten_keeping_headers(mode, base):
    """A bare HTML error response is rewritten in place: custom headers and cookies stay, length fixed."""
    response = await fetch(mode, "get", f"{base}more/html/")
    assert response.status_code == 400
    assert problem(response)["code"] == "bad_request"
    assert response["X-Custom"] == "kept"
    assert response.cookies["crumb"].value == "1"
    assert response["Content-Length"] == str(len(response.content))


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_405_keeps_allow_header(mode, base):
    """HttpResponseNotAllowed becomes a 405 problem that still says which methods are allowed."""
    response = await fetch(mode, "get", f"{base}more/405/")
    assert response.status_code == 405
    assert problem(response)["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


@modes
@pytest.mark.parametrize("base", API_VIEWS)
@pytest.mark.parametrize(
    ("kind", "content_type", "status"),
    [("json", "application/json", 422), ("plain", "text/plain", 400)],
)
async def test_views_own_non_html_error_bodies_are_left_alone(
    mode, base, kind, content_type, status
):
    """A view's own JSON or plain-text error response is not rewritten."""
    response = await fetch(mode, "get", f"{base}more/{kind}/")
    assert response.status_code == status
    assert response["Content-Type"].startswith(content_type)


@modes
@pytest.mark.parametrize("base", API_VIEWS)
async def test_streaming_error_response_is_left_alone(mode, base):
    """A streaming error response keeps its body: it cannot be rewritten safely."""
    response = await fetch(mode, "get", f"{base}more/stream/")
    assert response.status_code == 500
    assert response.streaming
    assert response["Content-Type"].startswith("text/html")


@modes
async def test_got_request_exception_is_still_sent_once(mode):
    """Error reporters hooked on got_request_exception (Sentry...) still see each 500 once."""
    seen: list[object] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        seen.append(kwargs["request"])

    got_request_exception.connect(receiver)
    try:
        await fetch(mode, "get", "/api/fail/500/")
    finally:
        got_request_exception.disconnect(receiver)
    assert len(seen) == 1


@modes
async def test_debug_propagate_exceptions_still_propagates(mode, settings):
    """DEBUG_PROPAGATE_EXCEPTIONS keeps raising instead of answering, as without the middleware."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    with pytest.raises(ZeroDivisionError):
        await fetch(mode, "get", "/api/fail/500/")


@modes
async def test_api_prefixes_setting_is_read_live(mode, settings):
    """Changing STABILITY_API_PREFIXES moves where problems are answered."""
    settings.STABILITY_API_PREFIXES = ["/html/"]
    response = await fetch(mode, "get", "/html/fail/404/", headers={"accept": BROWSER})
    assert problem(response)["code"] == "not_found"
    response = await fetch(mode, "get", "/api/fail/404/", headers={"accept": BROWSER})
    assert response["Content-Type"].startswith("text/html")


@modes
async def test_handlers_cover_errors_raised_before_the_middleware(mode, settings):
    """With the error views as root handlers, a DisallowedHost from CommonMiddleware is a 400 problem."""
    settings.ROOT_URLCONF = "tests.urls_problem_handlers"
    response = await fetch(mode, "get", "/api/ok/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert problem(response)["code"] == "bad_request"
    assert b"evil.example" not in response.content
    response = await fetch(
        mode, "get", "/html/ok/", headers={"host": "evil.example", "accept": BROWSER}
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# Direct construction: a real middleware instance around a plain view callable.


def _wrap(response: HttpResponse, **kwargs: Any) -> Callable[[HttpRequest], Any]:
    return ProblemDetailsMiddleware(lambda request: response, **kwargs)


def test_ctor_api_prefixes_override_the_setting():
    """api_prefixes= given to the constructor replaces STABILITY_API_PREFIXES."""
    request = RequestFactory().get("/private/x", headers={"accept": BROWSER})
    response = _wrap(
        HttpResponse("<h1>no</h1>", status=404), api_prefixes=["/private/"]
    )(request)
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("bad", ["/api/", ["api/"], [None], 3])
def test_bad_api_prefixes_fail_at_startup(bad, settings):
    """A malformed prefix list is an ImproperlyConfigured when the middleware is built."""
    with pytest.raises(ImproperlyConfigured):
        _wrap(HttpResponse(), api_prefixes=bad)
    settings.STABILITY_API_PREFIXES = bad
    with pytest.raises(ImproperlyConfigured):
        _wrap(HttpResponse())


@pytest.mark.parametrize(
    "response",
    [
        JsonResponse({"ok": True}),
        HttpResponse("<p>fine</p>"),
        StreamingHttpResponse(iter([b"x"]), status=404),
        JsonResponse({"e": 1}, status=400),
        HttpResponse("moved", status=302),
    ],
)
def test_responses_that_are_not_bare_html_errors_pass_untouched(response):
    """Success, redirect, streaming and JSON error responses come out as they went in."""
    request = RequestFactory().get("/api/x")
    before = dict(response.items())
    assert _wrap(response)(request) is response
    assert dict(response.items()) == before


def test_json_answer_from_another_exception_handler_is_kept():
    """When another middleware's process_exception answered JSON for the exception, it is kept."""
    request = RequestFactory().get("/api/x")
    own = JsonResponse({"error": "someone else's"}, status=500)

    def inner(request: HttpRequest) -> HttpResponse:
        # What Django does when a view raises: each process_exception in turn, ours first.
        assert middleware.process_exception(request, RuntimeError("boom")) is None
        return own

    middleware = ProblemDetailsMiddleware(inner)
    assert middleware(request) is own
    assert json.loads(own.content) == {"error": "someone else's"}
