"""RFC 9457 problem details: the error shape of every API answer (``docs/errors.rst``).

:func:`problem_for_exception` maps exceptions to problems,
:class:`ApplicationError` is raised for an error the client should see as is,
:func:`register_problem` maps other exception classes, and the error views
(``bad_request``... ``csrf_failure``) are for the root URLconf's handlers.
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
from django_stability.errors._problem import Problem, problem_response

__all__ = [
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
