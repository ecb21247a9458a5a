"""``CorrelationIdMiddleware``: one ID per request, taken from the caller or made up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse

from django_stability.app_version import set_version_header
from django_stability.correlation import (
    correlation_pairs,
    header_pairs,
    is_valid_correlation_id,
    new_correlation_id,
    request_path,
    reset_correlation_id,
    set_correlation_id,
)
from django_stability.logging import get_logger

_log = get_logger("django_stability.correlation")

_EXPOSE = "Access-Control-Expose-Headers"


class _BoundIterator:
    """Re-binds the ID while a streaming response produces each chunk.

    The body of a streaming response is produced after the middleware has
    returned (and reset the ID), so log lines written by the generator would
    otherwise lose it.
    """

    __slots__ = ("_cid", "_iterator")

    def __init__(self, iterator: Iterator[bytes], cid: str) -> None:
        self._iterator = iterator
        self._cid = cid

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        token = set_correlation_id(self._cid)
        try:
            return next(self._iterator)
        finally:
            reset_correlation_id(token)


class _BoundAsyncIterator:
    """The async twin of :class:`_BoundIterator`."""

    __slots__ = ("_cid", "_iterator")

    def __init__(self, iterator: AsyncIterator[bytes], cid: str) -> None:
        self._iterator = iterator
        self._cid = cid

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        token = set_correlation_id(self._cid)
        try:
            return await anext(self._iterator)
        finally:
            reset_correlation_id(token)


class CorrelationIdMiddleware:
    """Give every request a correlation ID and every response the headers carrying it.

    What is accepted, echoed and exposed is in docs/correlation.rst. Put it
    first in ``MIDDLEWARE``.

    Args:
        get_response: the next handler.
        headers: header names to use instead of ``STABILITY_CORRELATION_HEADERS``.

    Raises:
        ImproperlyConfigured: a header name is not a valid HTTP token.

    .. versionadded:: 0.1
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[
            [HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]
        ],
        *,
        headers: Sequence[str] | None = None,
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        # Validated now so a typo fails at startup, not on the first request.
        self._pairs = header_pairs(headers) if headers is not None else None
        if headers is None:
            correlation_pairs()

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        token = set_correlation_id(self._before(request))
        path = request_path.set(request.path_info)
        try:
            return self._after(request, self.get_response(request))  # type: ignore[arg-type]
        finally:
            request_path.reset(path)
            reset_correlation_id(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = set_correlation_id(self._before(request))
        path = request_path.set(request.path_info)
        try:
            return self._after(request, await self.get_response(request))  # type: ignore[misc]
        finally:
            request_path.reset(path)
            reset_correlation_id(token)

    def _header_pairs(self) -> tuple[tuple[str, str], ...]:
        return correlation_pairs() if self._pairs is None else self._pairs

    def _before(self, request: HttpRequest) -> str:
        rejected: list[tuple[str, int]] = []
        cid = None
        for name, key in self._header_pairs():
            value = request.META.get(key)
            if value is None:
                continue
            if is_valid_correlation_id(value):
                cid = value
                break
            rejected.append((name, len(value)))
        if cid is None:
            cid = new_correlation_id()
        request.correlation_id = cid  # type: ignore[attr-defined]
        for name, length in rejected:
            # Never the value: it may be huge, or carry newlines and escapes.
            _log.warning(
                "correlation_id_rejected",
                header=name,
                length=length,
                correlation_id=cid,
            )
        return cid

    def _after(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        cid: str = request.correlation_id  # type: ignore[attr-defined]
        pairs = self._header_pairs()
        for name, _ in pairs:
            response[name] = cid
        set_version_header(response, replace=False)
        exposed = response.get(_EXPOSE)
        if exposed is not None and exposed.strip() != "*":
            known = {item.strip().lower() for item in exposed.split(",")}
            missing = [name for name, _ in pairs if name.lower() not in known]
            if missing:
                response[_EXPOSE] = (
                    ", ".join([exposed, *missing])
                    if exposed.strip()
                    else ", ".join(missing)
                )
        if isinstance(response, StreamingHttpResponse):
            if response.is_async:
                response.streaming_content = _BoundAsyncIterator(
                    cast(AsyncIterator[bytes], response.streaming_content), cid
                )
            else:
                response.streaming_content = _BoundIterator(
                    cast(Iterator[bytes], response.streaming_content), cid
                )
        return response
