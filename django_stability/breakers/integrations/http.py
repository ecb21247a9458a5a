"""HTTP calls to other services through a breaker, with timeouts and the correlation ID.

::

    from django_stability.breakers.integrations import http

    response = http.get("https://payments.example/api/charges", breaker="payments")
    response = await http.apost(url, json=payload, breaker="payments")
    response = http.get(url, breaker="payments", retry="payments")

With ``retry``, idempotent requests are retried through
:mod:`django_stability.retry` (docs/retries.rst). Needs httpx, the ``http`` extra: ``pip install "django-stability[http]"``.

.. versionadded:: 0.1
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

try:
    import httpx
except ImportError as exc:
    raise ImportError(
        "django_stability.breakers.integrations.http needs httpx: "
        'pip install "django-stability[http]"'
    ) from exc

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers.integrations import _guard, _http_retry
from django_stability.breakers.integrations._http_retry import (
    IDEMPOTENT,
    RETRY_STATUSES,
)
from django_stability.correlation import outgoing_headers
from django_stability.deadline import HEADER, Deadline, DeadlineExceeded, current

__all__ = [
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT",
    "RETRY_STATUSES",
    "adelete",
    "aget",
    "apatch",
    "apost",
    "aput",
    "arequest",
    "delete",
    "get",
    "patch",
    "post",
    "put",
    "request",
]

#: Three seconds to connect, ten for each read, write or pool wait.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

Breaker = str | CircuitBreaker
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
Timeout = httpx.Timeout | float | None


class _ServerError(Exception):
    """A 5xx answer: a failure for the breaker, a response for the caller."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} from {response.request.url}")
        self.response = response


def _counts(exc: BaseException) -> bool:
    """5xx answers and transport failures (connect, read, timeouts) count; the caller's mistakes do not."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    return isinstance(exc, _ServerError | httpx.TransportError)


def _headers(headers: Any) -> httpx.Headers:
    merged = httpx.Headers(outgoing_headers())
    if (found := current()) is not None:
        # The next service may stop when this request would give up waiting anyway.
        merged[HEADER] = f"{max(found.remaining(), 0.001):.3f}"
    merged.update(httpx.Headers(headers))  # the caller's own names win
    return merged


def _capped(timeout: Timeout, found: Deadline) -> tuple[httpx.Timeout, float | None]:
    """``timeout`` with no part longer than what the deadline leaves, and that time (``None``: not capped)."""
    left = found.remaining()
    if left <= 0:
        raise DeadlineExceeded(found.budget, "http")
    given = httpx.Timeout(timeout)
    parts = {
        "connect": given.connect,
        "read": given.read,
        "write": given.write,
        "pool": given.pool,
    }
    if all(part is not None and part <= left for part in parts.values()):
        return given, None
    return httpx.Timeout(
        **{k: left if v is None or v > left else v for k, v in parts.items()}
    ), left


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 500:
        raise _ServerError(response)
    return response


def _send(
    client: httpx.Client | None, method: str, url: Any, **kwargs: Any
) -> httpx.Response:
    if (found := current()) is None:
        return _send_now(client, method, url, **kwargs)
    kwargs["timeout"], capped = _capped(kwargs["timeout"], found)
    try:
        return _send_now(client, method, url, **kwargs)
    except httpx.TimeoutException as exc:
        if capped is None:
            raise
        raise DeadlineExceeded(found.budget, "http") from exc


def _send_now(
    client: httpx.Client | None, method: str, url: Any, **kwargs: Any
) -> httpx.Response:
    if client is not None:
        return _checked(client.request(method, url, **kwargs))
    with httpx.Client() as own:
        return _checked(own.request(method, url, **kwargs))


async def _asend(
    client: httpx.AsyncClient | None, method: str, url: Any, **kwargs: Any
) -> httpx.Response:
    if (found := current()) is None:
        return await _asend_now(client, method, url, **kwargs)
    kwargs["timeout"], capped = _capped(kwargs["timeout"], found)
    # httpx bounds each phase; the whole exchange must fit in what is left too.
    whole = asyncio.timeout(found.remaining())
    try:
        async with whole:
            return await _asend_now(client, method, url, **kwargs)
    except httpx.TimeoutException as exc:
        if capped is None:
            raise
        raise DeadlineExceeded(found.budget, "http") from exc
    except TimeoutError as exc:
        if not whole.expired():
            raise
        raise DeadlineExceeded(found.budget, "http") from exc


async def _asend_now(
    client: httpx.AsyncClient | None, method: str, url: Any, **kwargs: Any
) -> httpx.Response:
    if client is not None:
        return _checked(await client.request(method, url, **kwargs))
    async with httpx.AsyncClient() as own:
        return _checked(await own.request(method, url, **kwargs))


def _answered(func: Any, miss: Any, exc: Exception) -> httpx.Response:
    """The response of a 5xx answer (counted, then returned); any other error is raised."""
    if isinstance(exc, _ServerError):
        return exc.response
    raise exc


def request(
    method: str,
    url: httpx.URL | str,
    *,
    breaker: Breaker,
    retry: str | None = None,
    idempotent: bool | None = None,
    client: httpx.Client | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    headers: Any = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request through ``breaker``, with the correlation ID headers and a timeout.

    A 5xx response counts as a failure and is returned, as any other
    response is (call ``raise_for_status()`` if it should raise). Connection
    errors and timeouts count and are raised. 4xx answers never count.

    Args:
        method: ``"GET"``, ``"POST"``...
        url: Absolute, or relative to ``client``'s ``base_url``.
        breaker: The breaker's name or object (one breaker per service).
        retry: The name of a retry (``STABILITY_RETRIES``): transport
            failures and 429, 502, 503 and 504 answers are tried again, each
            attempt through ``breaker``, which also stops the retries while
            open (unless the retry names its own). A ``Retry-After`` of a 429
            or 503 is the wait; one longer than the retry's ``wait_max`` ends
            the retries at once. The last answer is returned as usual.
        idempotent: Whether the request may be sent twice; by default only
            the idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE)
            are retried.
        client: An ``httpx.Client`` to send with (its connection pool, base
            URL, auth); a client for this call only when ``None``.
        timeout: httpx's timeout; :data:`DEFAULT_TIMEOUT` unless given.
        headers: Sent after the correlation ID headers, so they win.
        **kwargs: Passed to ``httpx.Client.request`` (``params``, ``json``...).

    Under a request deadline (``django_stability.deadline``), no part of
    ``timeout`` is longer than the time left, the time left is sent as
    ``X-Request-Timeout``, and a timeout the deadline imposed raises
    ``DeadlineExceeded`` (which the breaker does not count).

    Raises:
        CircuitOpenError: the breaker refuses the call; nothing was sent.
        DeadlineExceeded: the deadline had passed (nothing was sent), or
            passed while waiting for the answer.
        httpx.TransportError: the service could not be reached or timed out.

    """
    guard = _guard.Guard(breaker, _counts, _answered)
    headers = _headers(headers)
    send: Callable[[], httpx.Response] = partial(  # type: ignore[assignment]
        guard.call,
        None,
        _send,
        client,
        method,
        url,
        timeout=timeout,
        headers=headers,
        **kwargs,
    )
    retrying = _http_retry.retrying(retry, breaker, method, idempotent, _counts)
    if retrying is None:
        return send()
    try:
        return retrying.call(_http_retry.again, send)
    except _http_retry.Again as last:
        return last.response


async def arequest(
    method: str,
    url: httpx.URL | str,
    *,
    breaker: Breaker,
    retry: str | None = None,
    idempotent: bool | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - httpx's own timeout, passed on
    headers: Any = None,
    **kwargs: Any,
) -> httpx.Response:
    """The async twin of :func:`request`, also bounded by the breaker's ``call_timeout``."""
    guard = _guard.Guard(breaker, _counts, _answered)
    headers = _headers(headers)
    send: Callable[[], Awaitable[httpx.Response]] = partial(  # type: ignore[assignment]
        guard.acall,
        None,
        _asend,
        client,
        method,
        url,
        timeout=timeout,
        headers=headers,
        **kwargs,
    )
    retrying = _http_retry.retrying(retry, breaker, method, idempotent, _counts)
    if retrying is None:
        return await send()
    try:
        return await retrying.acall(_http_retry.aagain, send)
    except _http_retry.Again as last:
        return last.response


#: ``request`` and ``arequest`` with the method filled in: ``get(url, breaker=...)``.
get, post, put, patch, delete = (partial(request, verb) for verb in _VERBS)
aget, apost, aput, apatch, adelete = (partial(arequest, verb) for verb in _VERBS)
