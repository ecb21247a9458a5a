"""The problem details object and the responses built from it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from django.http import HttpResponse
from django.utils.html import format_html

from django_stability.correlation import get_correlation_id

ABOUT_BLANK: Final = "about:blank"
CONTENT_TYPE: Final = "application/problem+json"

# code and generic (always safe) detail per status; other statuses get "http_<status>".
_GENERIC: Final[Mapping[int, tuple[str, str]]] = {
    400: ("bad_request", "The request could not be processed."),
    401: ("unauthorized", "Authentication is required."),
    403: ("forbidden", "You do not have permission to perform this action."),
    404: ("not_found", "The requested resource was not found."),
    405: ("method_not_allowed", "The request method is not allowed for this resource."),
    406: ("not_acceptable", "No acceptable representation is available."),
    409: ("conflict", "The request conflicts with the current state of the resource."),
    410: ("gone", "The requested resource is no longer available."),
    413: ("content_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body has an unsupported media type."),
    422: ("unprocessable_content", "The request body could not be processed."),
    429: ("rate_limited", "Too many requests; retry later."),
    500: (
        "server_error",
        "An unexpected error occurred. Quote the correlation ID when reporting it.",
    ),
    502: ("bad_gateway", "An upstream service answered badly."),
    503: (
        "service_unavailable",
        "The service is temporarily unavailable; retry later.",
    ),
    504: ("gateway_timeout", "An upstream service did not answer in time."),
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def check_status(status: object) -> int:
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 400 <= status <= 599
    ):
        raise ValueError(
            f"a problem status must be an int from 400 to 599, not {status!r}"
        )
    return status


def _seconds(value: object) -> int | None:
    """Retry-After in whole seconds, rounded up; None for anything that is not a number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        return None
    return math.ceil(value) if value >= 0 else None


@dataclass(frozen=True)
class Problem:
    """One problem details object (RFC 9457) plus the ``Retry-After`` it may carry.

    Build it with :meth:`for_status` or :func:`problem_for_exception`; the
    ``correlation_id`` member is read when the body is rendered.

    .. versionadded:: 0.1
    """

    status: int
    code: str
    title: str
    detail: str
    type: str = ABOUT_BLANK
    retry_after: int | None = field(default=None, compare=False)

    @classmethod
    def for_status(
        cls,
        status: int,
        *,
        detail: str | None = None,
        code: str | None = None,
        title: str | None = None,
        type: str = ABOUT_BLANK,
        retry_after: float | None = None,
    ) -> Problem:
        """A problem for ``status``, each member defaulting to the generic one for that status.

        Raises:
            ValueError: ``status`` is not an int from 400 to 599.
        """
        generic_code, generic_detail = _GENERIC.get(
            check_status(status), (f"http_{status}", "")
        )
        title = title or _title(status)
        return cls(
            status=status,
            code=code or generic_code,
            title=title,
            detail=detail or generic_detail or title + ".",
            type=type,
            retry_after=_seconds(retry_after),
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON members, ``correlation_id`` included (``None`` outside a request)."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "correlation_id": get_correlation_id(),
        }

    def body(self) -> bytes:
        """The ``application/problem+json`` body (ASCII: non-ASCII text is escaped)."""
        return json.dumps(self.as_dict(), separators=(",", ":")).encode()

    def to_response(self) -> HttpResponse:
        """A new ``application/problem+json`` response, with ``Retry-After`` when known."""
        body = self.body()
        return self._retry(
            HttpResponse(body, status=self.status, content_type=CONTENT_TYPE)
        )

    def to_html_response(self) -> HttpResponse:
        """A minimal escaped HTML page with the same status, title, detail, correlation ID and Retry-After."""
        cid = get_correlation_id()
        reference = (
            format_html('<p class="reference">Reference: <code>{}</code></p>', cid)
            if cid
            else ""
        )
        html = format_html(
            '<!doctype html><html lang="en"><title>{}</title><h1>{}</h1><p>{}</p>{}</html>',
            self.title,
            self.title,
            self.detail,
            reference,
        )
        return self._retry(HttpResponse(html, status=self.status))

    def _retry(self, response: HttpResponse) -> HttpResponse:
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    code: str | None = None,
    title: str | None = None,
    type: str = ABOUT_BLANK,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """An ``application/problem+json`` response; omitted members take the status's generic ones.

    Args:
        status: HTTP status, 400 to 599.
        detail: Text for the client; defaults to the generic text of the status.
        code: Machine-readable identifier; defaults to the status's (``"not_found"``...).
        title: Defaults to the status phrase.
        type: Problem type URI, ``"about:blank"`` by default.
        retry_after: Seconds; sent as ``Retry-After``, rounded up.
        headers: Extra response headers (``Allow``, ``WWW-Authenticate``...).

    Raises:
        ValueError: ``status`` is not an int from 400 to 599.

    .. versionadded:: 0.1
    """
    problem = Problem.for_status(
        status,
        detail=detail,
        code=code,
        title=title,
        type=type,
        retry_after=retry_after,
    )
    response = problem.to_response()
    for name, value in (headers or {}).items():
        response[name] = value
    return response
