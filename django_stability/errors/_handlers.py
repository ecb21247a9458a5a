"""Which requests get problem details, and error views for the root URLconf."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views import csrf, defaults

from django_stability.errors._mapping import answers_itself, problem_for_exception
from django_stability.errors._negotiation import (
    api_prefixes,
    prefers_json,
    under_prefixes,
)
from django_stability.errors._problem import Problem

__all__ = [
    "bad_request",
    "csrf_failure",
    "page_not_found",
    "permission_denied",
    "server_error",
    "wants_problem",
]


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

    .. versionadded:: 0.1
    """
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
