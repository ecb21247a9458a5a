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

import email.utils
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
from django_stability.breakers.integrations import _guard
from django_stability.correlation import outgoing_headers
from django_stability.retry import Retry

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

#: The methods RFC 9110 defines as idempotent: the only ones retried unless ``idempotent=True``.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Answers worth another attempt: too many requests, bad gateway, unavailable, gateway timeout.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class _ServerError(Exception):
    """A 5xx answer: a failure for the breaker, a response for the caller."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} from {response.request.url}")
        self.response = response


class _Again(Exception):
    """An answer of :data:`RETRY_STATUSES`: raised for the retry, returned once retries end."""

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
    merged.update(httpx.Headers(headers))  # the caller's own names win
    return merged


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 500:
        raise _ServerError(response)
    return response


def _send(
    client: httpx.Client | None, method: str, url: Any, **kwargs: Any
) -> httpx.Response:
    if client is not None:
        return _checked(client.request(method, url, **kwargs))
    with httpx.Client() as own:
        return _checked(own.request(method, url, **kwargs))


async def _asend(
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


def retry_after(response: httpx.Response, now: float) -> float | None:
    """The seconds a 429 or 503 answer asks to wait (``Retry-After``), or ``None``.

    Seconds or an HTTP date (``now``: epoch seconds), never below 0.
    """
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # malformed: the backoff decides
    return max(0.0, when.timestamp() - now)


def _retried_on(cap: float, clock: Callable[[], float]) -> Any:
    """The hook deciding what the HTTP helper retries, and how long a ``Retry-After`` waits."""

    def on(exc: Exception) -> bool | float:
        if isinstance(exc, _Again):
            wait = retry_after(exc.response, clock())
            if wait is None:
                return True
            return wait if wait <= cap else False  # asked to wait longer: answer now
        return isinstance(exc, httpx.TransportError) and _counts(exc)

    return on


def _retrying(
    name: str | None, breaker: Breaker, method: str, idempotent: bool | None
) -> Retry | None:
    if name is None or not (
        method.upper() in IDEMPOTENT if idempotent is None else idempotent
    ):
        return None
    retrying = Retry(name)
    config = retrying.config
    retrying.breaker = config.breaker or breaker
    retrying.on = _retried_on(config.wait_max, retrying.clock)
    return retrying


def _again(send: Callable[[], httpx.Response]) -> httpx.Response:
    response = send()
    if response.status_code in RETRY_STATUSES:
        raise _Again(response)
    return response


async def _aagain(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    response = await send()
    if response.status_code in RETRY_STATUSES:
        raise _Again(response)
    return response


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

    Raises:
        CircuitOpenError: the breaker refuses the call; nothing was sent.
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
    retrying = _retrying(retry, breaker, method, idempotent)
    if retrying is None:
        return send()
    try:
        return retrying.call(_again, send)
    except _Again as last:
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
    retrying = _retrying(retry, breaker, method, idempotent)
    if retrying is None:
        return await send()
    try:
        return await retrying.acall(_aagain, send)
    except _Again as last:
        return last.response


#: ``request`` and ``arequest`` with the method filled in: ``get(url, breaker=...)``.
get, post, put, patch, delete = (partial(request, verb) for verb in _VERBS)
aget, apost, aput, apatch, adelete = (partial(arequest, verb) for verb in _VERBS)
