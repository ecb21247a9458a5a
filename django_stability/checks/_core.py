"""Checks of the settings the request path reads on every request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.app_version import version_problem
from django_stability.checks._base import (
    check,
    is_list,
    kind,
    prefix_problems,
    show,
)
from django_stability.checks._cache_control import DIGITS, policy_messages
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, conf
from django_stability.correlation import is_header_name

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url_problem(value: Any) -> str | None:
    # The URL may carry a password: messages name its parts, never the URL itself.
    if value is None:
        return None
    if not isinstance(value, str):
        return f"must be None or a Redis URL string, not {type(value).__name__}"
    scheme, sep, _ = value.partition("://")
    if not sep or scheme.lower() not in _REDIS_SCHEMES:
        found = f"{scheme}://" if sep else "no scheme"
        return f"must start with redis://, rediss:// or unix:// (found {found!r})"
    try:
        parts = urlsplit(value)
    except ValueError:  # urllib's message quotes the URL: not repeated
        return (
            "is malformed: expected redis://[[user]:password@]host[:port][/db], "
            "with reserved and non-ASCII characters of the password percent-encoded"
        )
    try:
        parts.port  # noqa: B018 - urllib validates the port lazily, on access
    except ValueError:
        return "has an invalid port"
    db = parse_qs(parts.query).get("db", [])
    if scheme.lower() == "unix":
        if not parts.path:
            return "has no socket path (unix:///path/to/redis.sock)"
    elif parts.path not in ("", "/"):
        db = [parts.path[1:]]
    if any(not DIGITS.fullmatch(d) for d in db):
        return "has a database number that is not a whole number"
    return None


@check(Tags.caches)
def check_redis_url(**kwargs: Any) -> list[CheckMessage]:
    problem = _redis_url_problem(conf.redis_url)
    if problem is None:
        return []
    return [Codes.REDIS_URL.msg(Settings.redis_url.setting_name, problem=problem)]


@check()
def check_app_version(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.app_version.setting_name
    problem = version_problem(conf.app_version)
    if problem is None:
        return []
    where = (
        name
        if hasattr(settings, name)
        else f"The APP_VERSION environment variable (default of {name})"
    )
    return [Codes.APP_VERSION.msg(name, where=where, problem=problem)]


@check()
def check_correlation_headers(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.correlation_headers.setting_name
    value: Any = conf.correlation_headers
    if not is_list(value) or not value:
        problem = f"must be a non-empty list of header names, not {kind(value)}"
        return [Codes.CORRELATION_HEADERS.msg(name, problem=problem)]
    messages, seen = [], set()
    for index, header in enumerate(value):
        where = f"{name}[{index}]"
        if not is_header_name(header):
            problem = f"is not a valid HTTP header name: {kind(header)}"
            messages.append(
                Codes.CORRELATION_HEADER_NAME.msg(name, where=where, problem=problem)
            )
        elif header.lower() in seen:
            messages.append(
                Codes.CORRELATION_HEADER_DUPLICATE.msg(
                    name, where=where, value=show(header)
                )
            )
        elif "_" in header:
            messages.append(
                Codes.CORRELATION_HEADER_UNDERSCORE.msg(
                    name, where=where, value=show(header)
                )
            )
        if isinstance(header, str):
            seen.add(header.lower())
    return messages


@check(Tags.caches)
def check_cache_policies(**kwargs: Any) -> list[CheckMessage]:
    return policy_messages(Settings.cache_policies.setting_name, conf.cache_policies)


def _prefix_messages(code: Codes, name: str, value: Any) -> list[CheckMessage]:
    return [
        code.msg(name, where=name + suffix, problem=problem)
        for suffix, problem in prefix_problems(value)
    ]


@check()
def check_api_prefixes(**kwargs: Any) -> list[CheckMessage]:
    return _prefix_messages(
        Codes.API_PREFIXES, Settings.api_prefixes.setting_name, conf.api_prefixes
    )
