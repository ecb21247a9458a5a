"""DeadlineMiddleware: each request gets the time its route allows, or less if a trusted proxy says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from django_stability.deadline import Deadline, DeadlineExceeded, deadline
from django_stability.deadline._database import install_database_guard
from django_stability.deadline._settings import (
    HEADER,
    configured,
    parse,
    parse_header,
)
from django_stability.errors import problem_for_exception, wants_problem
from django_stability.logging import get_logger
from django_stability.ratelimit import from_trusted_proxy

_log = get_logger("django_stability.deadline")

GetResponse = Callable[[HttpRequest], Any]


class DeadlineMiddleware:
    """Give each request a deadline; what runs out of time is stopped and answered 504.

    The budget is the one of the longest ``STABILITY_DEADLINES`` prefix
    matching the path, shortened by the ``X-Request-Timeout`` header when a
    trusted proxy (``STABILITY_TRUSTED_PROXIES``) sends one. A request with
    neither passes through untouched. Put it right after
    ``RateLimitMiddleware`` (docs/middleware.rst).

    Args:
        get_response: The next handler, given by Django.
        deadlines: Overrides ``STABILITY_DEADLINES``.
        clock: Monotonic seconds (tests inject a fake one).

    Raises:
        ImproperlyConfigured: ``deadlines`` (or the setting) is malformed.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: GetResponse,
        *,
        deadlines: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        self.clock = clock
        self._deadlines = None if deadlines is None else parse(deadlines, "deadlines")
        configured()  # validates the setting at startup
        install_database_guard()

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if (seconds := self._budget(request)) is None:
            return self.get_response(request)
        with deadline(seconds, clock=self.clock):
            return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if (seconds := self._budget(request)) is None:
            return await self.get_response(request)  # type: ignore[no-any-return]
        with deadline(seconds, clock=self.clock) as found:
            timeout = asyncio.timeout(max(found.remaining(), 0))
            try:
                async with timeout:
                    return await self.get_response(request)  # type: ignore[no-any-return]
            except TimeoutError:
                if not timeout.expired():
                    raise  # not ours: the view's own timeout
                return _answer(request, found)

    def _budget(self, request: HttpRequest) -> float | None:
        """The request's budget in seconds, or ``None`` when it has none."""
        route = (self._deadlines or configured())(request.path_info)
        sent = _header_budget(request)
        if sent is None or (route is not None and route <= sent):
            return route
        return sent


def _header_budget(request: HttpRequest) -> float | None:
    """The budget a trusted proxy sent; an untrusted peer's header, or a malformed one, is ignored."""
    value = request.headers.get(HEADER)
    if value is None or not from_trusted_proxy(request):
        return None
    seconds = parse_header(value)
    if seconds is None:
        # The proxy is misconfigured; the request still gets its route's budget.
        _log.warning("deadline_header_ignored", header=HEADER, value=value[:40])
    return seconds


def _answer(request: HttpRequest, found: Deadline) -> HttpResponseBase:
    """The 504 of a request whose async view was cancelled at its deadline."""
    _log.warning("deadline_exceeded", budget=found.budget, where="request")
    problem = problem_for_exception(DeadlineExceeded(found.budget, "request"))
    return (
        problem.to_response() if wants_problem(request) else problem.to_html_response()
    )
