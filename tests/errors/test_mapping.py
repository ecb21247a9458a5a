"""From exceptions to problems: the mapping table, register_problem, ApplicationError (errors/_mapping.py)."""

from __future__ import annotations

import pickle

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
from django_ratelimit.exceptions import Ratelimited

from django_stability.errors import (
    ApplicationError,
    Problem,
    problem_for_exception,
    register_problem,
)


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
