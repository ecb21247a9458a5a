"""What the HTTP helper retries through :mod:`django_stability.retry`, and how long a ``Retry-After`` waits."""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from django_stability.retry import Retry

#: The methods RFC 9110 defines as idempotent: the only ones retried unless ``idempotent=True``.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Answers worth another attempt: too many requests, bad gateway, unavailable, gateway timeout.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class Again(Exception):
    """An answer of :data:`RETRY_STATUSES`: raised for the retry, returned once retries end."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} from {response.request.url}")
        self.response = response


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


def _retried_on(
    cap: float, clock: Callable[[], float], counts: Callable[[BaseException], bool]
) -> Any:
    """The hook deciding what the HTTP helper retries, and how long a ``Retry-After`` waits."""

    def on(exc: Exception) -> bool | float:
        if isinstance(exc, Again):
            wait = retry_after(exc.response, clock())
            if wait is None:
                return True
            return wait if wait <= cap else False  # asked to wait longer: answer now
        return isinstance(exc, httpx.TransportError) and counts(exc)

    return on


def retrying(
    name: str | None,
    breaker: Any,
    method: str,
    idempotent: bool | None,
    counts: Callable[[BaseException], bool],
) -> Retry | None:
    """The retry named ``name`` for this request, or ``None`` when it is not to be retried."""
    if name is None or not (
        method.upper() in IDEMPOTENT if idempotent is None else idempotent
    ):
        return None
    retrying = Retry(name)
    config = retrying.config
    retrying.breaker = config.breaker or breaker
    retrying.on = _retried_on(config.wait_max, retrying.clock, counts)
    return retrying


def again(send: Callable[[], httpx.Response]) -> httpx.Response:
    response = send()
    if response.status_code in RETRY_STATUSES:
        raise Again(response)
    return response


async def aagain(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    response = await send()
    if response.status_code in RETRY_STATUSES:
        raise Again(response)
    return response
