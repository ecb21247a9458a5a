"""``AccessLogMiddleware``: one structured line per request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextvars import Token
from types import TracebackType
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse

from django_stability import metrics
from django_stability.correlation import get_correlation_id
from django_stability.logging import (
    bind_request,
    get_logger,
    loaded_user_id,
    unbind_request,
)
from django_stability.middleware._route import readable_route
from django_stability.ratelimit._client_ip import client_ip

_log = get_logger("django_stability.access")

UNRESOLVED_ROUTE = "<unresolved>"
#: URL names (in the ``stability`` app) of the health views, logged at DEBUG wherever mounted.
PROBE_URL_NAMES = frozenset({"health", "health-live", "health-ready", "health-startup"})
#: Status logged for a request whose handling was cancelled (the client went away).
CLIENT_CLOSED = 499


#: The metric children of each (method, route, status) seen, so a request costs no
#: ``labels()`` lookup (a lock and a tuple of strings). The keys are bounded like
#: the labels themselves; the cap only guards against a URLconf of many patterns.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_CHILDREN = 10_000


def _observe(method: str | None, route: str, status: int, duration: float) -> None:
    """Count the request in ``stability_http_requests_total`` and its duration histogram."""
    method = method if method in metrics.HTTP_METHODS else "other"
    key = (method, route, status)
    pair = _children.get(key)
    if pair is None:
        pair = (
            metrics.http_requests.labels(method, route, str(status)),
            metrics.http_request_duration.labels(method, route),
        )
        if len(_children) < _MAX_CHILDREN:
            _children[key] = pair
    pair[0].inc()
    pair[1].observe(duration)


class _Observation:
    """One request going through the middleware: binds its log context, times it, logs it."""

    __slots__ = (
        "_done",
        "_middleware",
        "_request",
        "_start",
        "_token",
        "bytes",
        "response",
    )

    def __init__(self, middleware: AccessLogMiddleware, request: HttpRequest) -> None:
        self._middleware = middleware
        self._request = request
        self._done = False
        self.bytes: int | None = None
        self.response: HttpResponseBase | None = None

    def __enter__(self) -> _Observation:
        self._token: Token[HttpRequest | None] = bind_request(self._request)
        self._start = self._middleware.clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        unbind_request(self._token)
        if isinstance(exc, asyncio.CancelledError):
            self.finish(CLIENT_CLOSED)
        elif isinstance(exc, Exception):
            # Only when exceptions propagate (DEBUG_PROPAGATE_EXCEPTIONS, or a
            # handler without Django's conversion): nothing else logged it.
            self.finish(500, exc_info=exc)
        elif self.response is not None:
            if isinstance(self.response, StreamingHttpResponse):
                self._wrap_stream(self.response)
            else:
                self.bytes = len(getattr(self.response, "content", b""))
                self.finish(self.response.status_code)

    def _wrap_stream(self, response: StreamingHttpResponse) -> None:
        self.bytes = 0
        if response.is_async:
            response.streaming_content = _CountingAsyncIterator(
                cast(AsyncIterator[bytes], response.streaming_content), self
            )
        else:
            response.streaming_content = _CountingIterator(
                cast(Iterator[bytes], response.streaming_content), self
            )

    def finish(self, status: int, exc_info: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        self._middleware.log_request(
            self._request, status, self.bytes, self._start, exc_info
        )


class _CountingIterator:
    """Counts the bytes of a streaming body; logs the request when it ends or is closed."""

    __slots__ = ("_iterator", "_observation")

    def __init__(self, iterator: Iterator[bytes], observation: _Observation) -> None:
        self._iterator = iterator
        self._observation = observation

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self.close()
            raise
        self._observation.bytes += len(chunk)  # type: ignore[operator]
        return chunk

    def close(self) -> None:
        """Called by ``response.close()``: a body not read to the end is logged too."""
        self._observation.finish(self._observation.response.status_code)  # type: ignore[union-attr]


class _CountingAsyncIterator:
    """The async twin of :class:`_CountingIterator`."""

    __slots__ = ("_iterator", "_observation")

    def __init__(
        self, iterator: AsyncIterator[bytes], observation: _Observation
    ) -> None:
        self._iterator = iterator
        self._observation = observation

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await anext(self._iterator)
        except StopAsyncIteration:
            self.close()
            raise
        self._observation.bytes += len(chunk)  # type: ignore[operator]
        return chunk

    def close(self) -> None:
        """Called by ``response.close()``: a body not read to the end is logged too."""
        self._observation.finish(self._observation.response.status_code)  # type: ignore[union-attr]


class AccessLogMiddleware:
    """Log one ``request`` line and count one request per request; bind the request to the log context.

    The fields, levels and metrics are in docs/logging.rst and docs/metrics.rst.
    Put it right after ``CorrelationIdMiddleware``.

    Args:
        get_response: the next handler.
        clock: a monotonic clock in seconds (tests inject a fake one).
        probe_prefixes: path prefixes logged at DEBUG; default
            ``("/stability/health/",)``.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True
    probe_prefixes: tuple[str, ...] = ("/stability/health/",)

    def __init__(
        self,
        get_response: Callable[
            [HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]
        ],
        *,
        clock: Callable[[], float] = time.perf_counter,
        probe_prefixes: Sequence[str] | None = None,
    ) -> None:
        self.get_response = get_response
        self.clock = clock
        if probe_prefixes is not None:
            self.probe_prefixes = tuple(probe_prefixes)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        with _Observation(self, request) as observation:
            observation.response = self.get_response(request)  # type: ignore[assignment]
        return observation.response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase | None:
        with _Observation(self, request) as observation:
            observation.response = await self.get_response(request)  # type: ignore[misc]
        return observation.response

    def is_probe(self, request: HttpRequest) -> bool:
        """A health probe: under ``probe_prefixes``, or one of the health views wherever mounted."""
        if request.path.startswith(self.probe_prefixes):
            return True
        match = request.resolver_match
        return (
            match is not None
            and "stability" in match.app_names
            and match.url_name in PROBE_URL_NAMES
        )

    def level(self, request: HttpRequest, status: int) -> int:
        """The level of the access line (override to change the policy)."""
        if self.is_probe(request):
            return logging.DEBUG
        if status >= 500:
            return logging.ERROR
        return logging.WARNING if status >= 400 else logging.INFO

    def log_request(
        self,
        request: HttpRequest,
        status: int,
        nbytes: int | None,
        start: float,
        exc_info: BaseException | None = None,
    ) -> None:
        """Write the access line (override to add fields)."""
        match = request.resolver_match
        route = readable_route(match.route) if match is not None else UNRESOLVED_ROUTE
        duration = self.clock() - start
        _observe(request.method, route, status, duration)
        extra: dict[str, Any] = {} if exc_info is None else {"exc_info": exc_info}
        _log.log(
            self.level(request, status),
            "request",
            status=status,
            duration_ms=round(duration * 1000, 3),
            bytes=nbytes,
            route=route,
            client_ip=client_ip(request),
            correlation_id=request.__dict__.get("correlation_id")
            or get_correlation_id(),
            user_id=loaded_user_id(request),
            method=request.method,
            path=request.path,
            **extra,
        )
