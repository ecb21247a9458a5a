"""The problem object and problem_response() (errors/_problem.py)."""

from __future__ import annotations

import json

import pytest

from django_stability.correlation import correlation_scope
from django_stability.errors import Problem, problem_response
from tests.errors import body


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
