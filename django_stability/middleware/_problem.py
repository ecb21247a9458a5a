"""ProblemDetailsMiddleware: errors as RFC 9457 problem details for API clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers

from django_stability.checks._base import prefixes_or_refuse
from django_stability.errors._database import is_connection_error, log_unavailable
from django_stability.errors._mapping import answers_itself, problem_for_exception
from django_stability.errors._negotiation import (
    api_prefixes,
    is_json_type,
    prefers_json,
    under_prefixes,
)
from django_stability.errors._problem import CONTENT_TYPE, Problem

# Where process_exception leaves the problem for the response phase (request.__dict__ key).
_PROBLEM = "_stability_problem"

# Any: Django passes a sync or an async callable, told apart at runtime by async_mode.
GetResponse = Callable[[HttpRequest], Any]


class ProblemDetailsMiddleware:
    """Answer errors with ``application/problem+json`` under the API prefixes or for JSON clients.

    Put it last in ``MIDDLEWARE``. Browsers outside the API prefixes keep
    Django's own error pages (debug pages included).

    Args:
        get_response: The next handler, given by Django.
        api_prefixes: Path prefixes answered with problem details whatever the
            ``Accept`` header; defaults to ``STABILITY_API_PREFIXES`` (read live).

    Raises:
        ImproperlyConfigured: a prefix is not a str starting with ``/``.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: GetResponse, *, api_prefixes: Sequence[str] | None = None
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        self._prefixes = (
            None
            if api_prefixes is None
            else prefixes_or_refuse(api_prefixes, "api_prefixes")
        )
        self._api_prefixes()  # validates the setting at startup

    def __call__(
        self, request: HttpRequest
    ) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        response: HttpResponseBase = self.get_response(request)
        return (
            response if response.status_code < 400 else self._error(request, response)
        )

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await self.get_response(request)
        return (
            response if response.status_code < 400 else self._error(request, response)
        )

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        problem = problem_for_exception(exception)
        request.__dict__[_PROBLEM] = problem
        if is_connection_error(exception):
            log_unavailable(exception)
        # Django knows the others; left to it, these would become 500s.
        return problem.to_html_response() if answers_itself(exception) else None

    def _api_prefixes(self) -> tuple[str, ...]:
        return api_prefixes() if self._prefixes is None else self._prefixes

    def _error(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        problem: Problem | None = request.__dict__.pop(_PROBLEM, None)
        content_type = response.get("Content-Type", "")
        if response.streaming or is_json_type(content_type):
            return response
        if problem is None and not content_type.lower().startswith("text/html"):
            return response  # the view's own plain-text (or other) error body
        if not under_prefixes(request, self._api_prefixes()):
            patch_vary_headers(response, ("Accept",))
            if not prefers_json(request.headers.get("Accept", "")):
                return response
        if problem is None or problem.status != response.status_code:
            problem = Problem.for_status(response.status_code)
        return _rewrite(response, problem)


def _rewrite(response: HttpResponseBase, problem: Problem) -> HttpResponseBase:
    response = cast(HttpResponse, response)  # streaming responses never get here
    response.content = problem.body()
    response["Content-Type"] = CONTENT_TYPE
    if "Content-Length" in response:
        response["Content-Length"] = str(len(response.content))
    # Retry-After needs no care: only exceptions answered by process_exception carry
    # one, and their response already has it.
    return response
