"""Checks of the settings the request path reads on every request."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import (
    check,
    is_list,
    kind,
    prefix_problems,
    show,
    suggest,
)
from django_stability.checks._cache_control import (
    DIGITS,
    RESPONSE_DIRECTIVES,
    directive_problem,
    parse_cache_control,
)
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


def _app_version_problem(value: Any) -> str | None:
    if not isinstance(value, str):
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


@check()
def check_app_version(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.app_version.setting_name
    problem = _app_version_problem(conf.app_version)
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


def _cache_control_messages(name: str, where: str, value: str) -> list[CheckMessage]:
    try:
        directives = parse_cache_control(value)
    except ValueError as exc:
        return [
            Codes.CACHE_CONTROL_SYNTAX.msg(
                name, where=where, problem=f"{show(value)} {exc}"
            )
        ]
    messages, seen = [], set()
    for directive, argument in directives:
        if directive in seen:
            problem = f"{show(value)} repeats the directive {directive!r}"
            messages.append(
                Codes.CACHE_CONTROL_SYNTAX.msg(name, where=where, problem=problem)
            )
        elif directive not in RESPONSE_DIRECTIVES:
            suggestion = suggest(directive, RESPONSE_DIRECTIVES)
            known = ", ".join(RESPONSE_DIRECTIVES)
            messages.append(
                Codes.CACHE_CONTROL_UNKNOWN.msg(
                    name,
                    where=where,
                    value=show(directive),
                    suggestion=suggestion,
                    known=known,
                )
            )
        elif invalid := directive_problem(directive, argument):
            problem = f"{show(value)}: {directive!r} {invalid}"
            messages.append(
                Codes.CACHE_CONTROL_SYNTAX.msg(name, where=where, problem=problem)
            )
        seen.add(directive)
    return messages


@check(Tags.caches)
def check_cache_policies(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.cache_policies.setting_name
    value: Any = conf.cache_policies
    if not is_list(value):
        problem = f"must be a list of (path prefix, Cache-Control value) pairs, not {kind(value)}"
        return [Codes.CACHE_POLICIES.msg(name, problem=problem)]
    messages: list[CheckMessage] = []
    prefixes: list[str] = []
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if not (is_list(item) and len(item) == 2):
            problem = (
                f"must be a (path prefix, Cache-Control value) pair, not {kind(item)}"
            )
            messages.append(
                Codes.CACHE_POLICIES.msg(name, where=where, problem=problem)
            )
            continue
        prefix, policy = item
        if not (isinstance(prefix, str) and prefix.startswith("/")):
            problem = f"must be a path prefix starting with '/', not {kind(prefix)}"
            messages.append(
                Codes.CACHE_POLICIES.msg(name, where=f"{where}[0]", problem=problem)
            )
        else:
            earlier = next((p for p in prefixes if prefix.startswith(p)), None)
            if earlier is not None:
                messages.append(
                    Codes.CACHE_POLICY_SHADOWED.msg(
                        name, where=where, value=show(earlier)
                    )
                )
            prefixes.append(prefix)
        if not isinstance(policy, str):
            problem = f"must be a Cache-Control string, not {kind(policy)}"
            messages.append(
                Codes.CACHE_POLICIES.msg(name, where=f"{where}[1]", problem=problem)
            )
        else:
            messages.extend(_cache_control_messages(name, f"{where}[1]", policy))
    return messages


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
