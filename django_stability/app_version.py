"""The running version: ``STABILITY_APP_VERSION``, validated once, and the ``X-App-Version`` header."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http.response import HttpResponseBase

from django_stability.conf import cached_on_settings, conf

VERSION_HEADER = "X-App-Version"


def version_problem(value: object) -> str | None:
    """What makes ``value`` unfit for ``X-App-Version`` (``None`` when it is fit); the check E002 words it."""
    if not isinstance(value, str):
        from django_stability.checks._base import kind  # checks imports this module

        return f"must be a string, not {kind(value)}"
    if not value:
        return "is empty"
    for index, char in enumerate(value):
        if not " " <= char <= "~":
            category = "control" if char < " " or char == "\x7f" else "non-ASCII"
            return f"contains the {category} character {char!r} at position {index}"
    if value != value.strip():
        return "has leading or trailing spaces, which HTTP strips from header values"
    return None


def checked_version(value: object, what: str) -> str:
    """``value`` when :func:`version_problem` finds nothing, else ImproperlyConfigured naming ``what``."""
    if (problem := version_problem(value)) is not None:
        raise ImproperlyConfigured(f"{what} {problem}.")
    return value  # type: ignore[return-value]


@cached_on_settings
def app_version() -> str:
    """``STABILITY_APP_VERSION``, validated (the default reads ``$APP_VERSION`` once)."""
    return checked_version(conf.app_version, "STABILITY_APP_VERSION")


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
