"""The running version: ``STABILITY_APP_VERSION``, validated once, and the ``X-App-Version`` header."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http.response import HttpResponseBase

from django_stability.conf import cached_on_settings, conf

__all__ = [
    "VERSION_HEADER",
    "app_version",
    "header_value",
    "set_version_header",
    "version_header",
]

VERSION_HEADER = "X-App-Version"


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


@cached_on_settings
def app_version() -> str:
    """``STABILITY_APP_VERSION``, validated (the default reads ``$APP_VERSION`` once)."""
    return header_value(conf.app_version, "STABILITY_APP_VERSION")


def version_header(version: str | None = None) -> tuple[str, str]:
    """``("X-App-Version", version)``, the configured version when ``version`` is ``None``."""
    return VERSION_HEADER, version or app_version()


def set_version_header(
    response: HttpResponseBase, version: str | None = None, *, replace: bool
) -> None:
    """Put ``X-App-Version``: ``version``, else :func:`app_version`, on ``response``.

    ``CacheHeadersMiddleware`` replaces whatever is there; ``CorrelationIdMiddleware``
    (``replace=False``) only fills in the header on answers that did not pass
    through it, and keeps a value set further in.
    """
    if replace or VERSION_HEADER not in response:
        name, value = version_header(version)
        response[name] = value
