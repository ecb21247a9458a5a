"""The headers every answer carries, wherever it is made.

The correlation ID goes out under every name of
``STABILITY_CORRELATION_HEADERS`` and the running version as
``X-App-Version``: on responses that pass through the middleware, and on the
answers made in front of Django (the health probes of ``with_health_probes()``,
the event stream, the outage guard of the realtime stack). This module is the
one place that reads and validates both settings for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from django_stability.conf import cached_on_settings, conf
from django_stability.correlation import is_valid_correlation_id, new_correlation_id

VERSION_HEADER = "X-App-Version"

_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+").fullmatch


def header_value(value: object, what: str) -> str:
    """``value`` if it can travel as a header value: a non-empty str without line breaks.

    Raises:
        ImproperlyConfigured: anything else, naming ``what``.
    """
    if (
        not isinstance(value, str)
        or not value.strip()
        or "\r" in value
        or "\n" in value
    ):
        raise ImproperlyConfigured(
            f"{what} must be a non-empty str without line breaks, not {value!r}."
        )
    return value


def header_pairs(names: Sequence[object]) -> tuple[tuple[str, str], ...]:
    """``(header name, request.META key)`` for each name.

    Raises:
        ImproperlyConfigured: a name is not a valid HTTP token.
    """
    pairs = []
    for name in names:
        if not isinstance(name, str) or not _HEADER_NAME(name):
            raise ImproperlyConfigured(f"invalid correlation header name {name!r}")
        pairs.append((name, "HTTP_" + name.upper().replace("-", "_")))
    return tuple(pairs)


@cached_on_settings
def correlation_pairs() -> tuple[tuple[str, str], ...]:
    """:func:`header_pairs` of ``STABILITY_CORRELATION_HEADERS``."""
    return header_pairs(conf.correlation_headers)


@cached_on_settings
def app_version() -> str:
    """``STABILITY_APP_VERSION``, validated (the default reads ``$APP_VERSION`` once)."""
    return header_value(conf.app_version, "STABILITY_APP_VERSION")


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


def response_header_items(cid: str) -> Iterable[tuple[str, str]]:
    """``(name, value)`` of the correlation and version headers, to set on an ``HttpResponse``."""
    for name, _ in correlation_pairs():
        yield name, cid
    yield VERSION_HEADER, app_version()


def asgi_headers(cid: str) -> list[tuple[bytes, bytes]]:
    """The same headers as ASGI ``(bytes, bytes)`` pairs, for an answer made in front of Django."""
    return [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response_header_items(cid)
    ]
