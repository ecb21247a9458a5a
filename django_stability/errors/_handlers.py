"""Which requests get problem details, and error views for the root URLconf."""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views import csrf, defaults

from django_stability.errors._database import is_connection_error, log_unavailable
from django_stability.errors._mapping import answers_itself, problem_for_exception
from django_stability.errors._negotiation import (
    api_prefixes,
    prefers_json,
    under_prefixes,
)
from django_stability.errors._problem import Problem


def wants_problem(
    request: HttpRequest, prefixes: tuple[str, ...] | None = None
) -> bool:
    """Whether errors for this request are problem+json (path under the prefixes, or prefers JSON).

    ``prefixes`` defaults to ``STABILITY_API_PREFIXES``.

    .. versionadded:: 0.1
    """
    return under_prefixes(
        request, api_prefixes() if prefixes is None else prefixes
    ) or prefers_json(request.headers.get("Accept", ""))


def _answer(
    request: HttpRequest, problem: Problem, page: Callable[[], HttpResponse]
) -> HttpResponse:
    """Problem+json when the request wants it, else ``page()``; Vary: Accept when Accept decided."""
    by_path = under_prefixes(request, api_prefixes())
    if by_path or prefers_json(request.headers.get("Accept", "")):
        response = problem.to_response()
    else:
        response = page()
    if not by_path:
        patch_vary_headers(response, ("Accept",))
    return response


# Error handlers for the root URLconf (handler400 = "django_stability.errors.bad_request", ...).
# They also cover errors raised outside ProblemDetailsMiddleware, in middleware listed before it.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: problem+json for API requests, Django's ``bad_request`` page otherwise.

    .. versionadded:: 0.1
    """
    return _error_page(request, exception, 400, defaults.bad_request)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler403``: problem+json for API requests, Django's ``permission_denied`` page otherwise.

    .. versionadded:: 0.1
    """
    return _error_page(request, exception, 403, defaults.permission_denied)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: problem+json for API requests, Django's ``page_not_found`` page otherwise.

    .. versionadded:: 0.1
    """
    return _error_page(request, exception, 404, defaults.page_not_found)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: problem+json for API requests, Django's ``server_error`` page otherwise.

    An exception that carries its own status, raised where
    ``ProblemDetailsMiddleware`` does not see it (in a middleware listed
    before it, a view middleware such as CSRF's), keeps that status: a
    database connection failure is a 503 ``database_unavailable``, a
    ``CircuitOpenError`` a 503 ``circuit_open``, both with ``Retry-After``
    (a minimal HTML page of that status for browsers).

    .. versionadded:: 0.1
    """
    # Django calls handler500 while handling the exception (in a worker thread
    # under ASGI, where asgiref re-raises it), so it is the one being handled.
    exception = sys.exc_info()[1]
    if exception is not None and answers_itself(exception):
        if is_connection_error(exception):
            log_unavailable(exception)
        problem = problem_for_exception(exception)
        return _answer(request, problem, problem.to_html_response)
    return _answer(
        request, Problem.for_status(500), lambda: defaults.server_error(request)
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a 403 problem with code ``csrf_failed`` for API requests.

    Django's reason is appended to ``detail`` only when ``DEBUG`` is on. Other
    requests get Django's own CSRF failure page.

    .. versionadded:: 0.1
    """
    detail = "CSRF verification failed. Request aborted."
    if settings.DEBUG and reason:
        detail = f"{detail} {reason}"
    problem = Problem.for_status(403, code="csrf_failed", detail=detail)
    return _answer(request, problem, lambda: csrf.csrf_failure(request, reason))


def _error_page(
    request: HttpRequest,
    exception: Exception,
    status: int,
    page: Callable[[HttpRequest, Exception], HttpResponse],
) -> HttpResponse:
    problem = problem_for_exception(exception)
    if answers_itself(exception):
        # e.g. a Ratelimited that reached handler403: its own status (429) wins.
        return _answer(request, problem, problem.to_html_response)
    if problem.status != status:
        problem = Problem.for_status(status)
    return _answer(request, problem, lambda: page(request, exception))
