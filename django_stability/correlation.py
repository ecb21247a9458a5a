"""The correlation ID of the current request (or task), kept in a context variable."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeGuard

from django.core.exceptions import ImproperlyConfigured

from django_stability.app_version import version_header
from django_stability.conf import cached_on_settings, conf

__all__ = [
    "correlation_scope",
    "get_correlation_id",
    "is_valid_correlation_id",
    "new_correlation_id",
    "outgoing_headers",
    "reset_correlation_id",
    "set_correlation_id",
]

MAX_LENGTH = 128

# ASCII only on purpose: IDs end up in headers, log lines and terminals.
_VALID = re.compile(rf"[A-Za-z0-9._:\-]{{1,{MAX_LENGTH}}}").fullmatch

#: RFC 9110 ``token``: the grammar of a header name (Cache-Control directive
#: names follow it too; ``checks`` builds its Cache-Control parser on it).
TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TOKEN = re.compile(TOKEN).fullmatch

_correlation_id: ContextVar[str | None] = ContextVar(
    "django_stability.correlation_id", default=None
)

#: The ``path_info`` of the request being served, set by ``CorrelationIdMiddleware``
#: next to the ID; ``None`` outside requests. The database breaker recognises
#: operator pages by it (see ``django_stability.breakers.operator_view``).
request_path: ContextVar[str | None] = ContextVar(
    "django_stability.request_path", default=None
)


def is_valid_correlation_id(value: object) -> bool:
    """Whether ``value`` is an acceptable correlation ID: 1-128 chars of ``[A-Za-z0-9._:-]``.

    Args:
        value: anything; only a :class:`str` can be valid.
    """
    return isinstance(value, str) and _VALID(value) is not None


def new_correlation_id() -> str:
    """A fresh random ID: a UUID4 in its canonical 36-character form."""
    return str(uuid.uuid4())


def get_correlation_id() -> str | None:
    """The correlation ID of the current context, or ``None`` outside a request."""
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    """Make ``value`` the current correlation ID (``None`` clears it).

    Args:
        value: a valid ID (see :func:`is_valid_correlation_id`) or ``None``.

    Returns:
        A token for :func:`reset_correlation_id`, which restores the previous value.

    Raises:
        ValueError: ``value`` is not a valid ID. The message does not contain it.
    """
    if value is not None and not is_valid_correlation_id(value):
        raise ValueError(
            "invalid correlation ID (must be 1-128 chars of [A-Za-z0-9._:-])"
        )
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    """Restore the correlation ID that was current before :func:`set_correlation_id`.

    Args:
        token: what :func:`set_correlation_id` returned, in the same context.
    """
    _correlation_id.reset(token)


@contextmanager
def correlation_scope(value: str | None = None) -> Iterator[str]:
    """Run a block under a correlation ID: ``value``, or a fresh one when ``None``.

    For work outside the request cycle (management commands, task queues,
    consumers)::

        with correlation_scope(message.headers.get("X-Correlation-ID")) as cid:
            handle(message)

    An invalid ``value`` is replaced by a fresh ID rather than rejected, since it
    usually comes from outside.

    Yields:
        The ID in force inside the block.
    """
    cid = (
        value
        if value is not None and is_valid_correlation_id(value)
        else new_correlation_id()
    )
    token = _correlation_id.set(cid)
    try:
        yield cid
    finally:
        _correlation_id.reset(token)


def is_header_name(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a str that is a valid HTTP header name (an RFC 9110 token)."""
    return isinstance(value, str) and _TOKEN(value) is not None


def header_pairs(names: Sequence[object]) -> tuple[tuple[str, str], ...]:
    """``(header name, request.META key)`` for each name.

    Raises:
        ImproperlyConfigured: a name is not a valid HTTP header name.
    """
    pairs = []
    for name in names:
        if not is_header_name(name):
            raise ImproperlyConfigured(f"invalid correlation header name {name!r}")
        pairs.append((name, "HTTP_" + name.upper().replace("-", "_")))
    return tuple(pairs)


@cached_on_settings
def correlation_pairs() -> tuple[tuple[str, str], ...]:
    """:func:`header_pairs` of ``STABILITY_CORRELATION_HEADERS`` (cached until settings change)."""
    return header_pairs(conf.correlation_headers)


def scope_correlation_id(scope: Mapping[str, Any]) -> str:
    """The first valid ID among the configured headers of an ASGI scope, or a new one."""
    received: dict[bytes, bytes] = dict(scope.get("headers", ()))
    for name, _ in correlation_pairs():
        value = received.get(name.lower().encode("latin-1"))
        if value is not None:
            text = value.decode("latin-1")
            if is_valid_correlation_id(text):
                return text
    return new_correlation_id()


def response_header_items(cid: str) -> list[tuple[str, str]]:
    """``(name, value)`` of the headers every answer carries: ``cid`` under each name, and the version."""
    return [
        *((name, cid) for name, _ in correlation_pairs()),
        version_header(),
    ]


def asgi_headers(cid: str) -> list[tuple[bytes, bytes]]:
    """The same headers as ASGI ``(bytes, bytes)`` pairs, for an answer made in front of Django."""
    return [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response_header_items(cid)
    ]


def outgoing_headers() -> dict[str, str]:
    """Headers carrying the current ID, for calls to other services.

    Every name of ``STABILITY_CORRELATION_HEADERS`` maps to the current ID, so
    the next service finds it whichever name it reads::

        requests.get(url, headers={**outgoing_headers(), "Accept": "application/json"})

    Returns:
        A new dict; empty when there is no current ID.
    """
    cid = _correlation_id.get()
    if cid is None:
        return {}
    return {name: cid for name, _ in correlation_pairs()}
