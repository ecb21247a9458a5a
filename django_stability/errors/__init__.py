"""RFC 9457 problem details: the error shape of every API answer.

An error becomes ``application/problem+json``::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "The requested resource was not found.", "code": "not_found",
     "correlation_id": "..."}

:func:`problem_for_exception` is the mapping from exceptions to problems;
:class:`ApplicationError` is the exception to raise for an error the client
should see as is; :func:`register_problem` lets a capability (or a project)
map its own exception classes without this package importing them. The error
views (``bad_request``... ``csrf_failure``) are for the root URLconf's
``handler400``... and ``CSRF_FAILURE_VIEW``. ``docs/errors.rst`` describes the
choices.
"""

from __future__ import annotations

from django_stability.errors._handlers import (
    bad_request,
    csrf_failure,
    page_not_found,
    permission_denied,
    server_error,
    wants_problem,
)
from django_stability.errors._mapping import (
    ApplicationError,
    answers_itself,
    problem_for_exception,
    register_problem,
)
from django_stability.errors._problem import (
    ABOUT_BLANK,
    CONTENT_TYPE,
    Problem,
    problem_response,
)

__all__ = [
    "ABOUT_BLANK",
    "CONTENT_TYPE",
    "ApplicationError",
    "Problem",
    "answers_itself",
    "bad_request",
    "csrf_failure",
    "page_not_found",
    "permission_denied",
    "problem_for_exception",
    "problem_response",
    "register_problem",
    "server_error",
    "wants_problem",
]
