"""Cache-Control values: RFC 9110 list syntax and the RFC 9111 response directives."""

from __future__ import annotations

import re

from django_stability.checks._base import show
from django_stability.correlation import TOKEN

_QUOTED = r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"'
_DIRECTIVE = re.compile(
    rf"[ \t]*(?P<name>{TOKEN})(?:=(?P<arg>{TOKEN}|{_QUOTED}))?[ \t]*(?P<end>,|\Z)"
)
DIGITS = re.compile(r"[0-9]+")

# Response directives of RFC 9111 section 5.2.2, RFC 8246 (immutable) and RFC 5861.
_DELTA_SECONDS = ("max-age", "s-maxage", "stale-while-revalidate", "stale-if-error")
_NO_ARGUMENT = (
    "no-store",
    "no-transform",
    "must-revalidate",
    "proxy-revalidate",
    "must-understand",
    "public",
    "immutable",
)
_FIELD_LIST = ("no-cache", "private")
RESPONSE_DIRECTIVES = (*_DELTA_SECONDS, *_NO_ARGUMENT, *_FIELD_LIST)


def parse_cache_control(value: str) -> list[tuple[str, str | None]]:
    """Split a Cache-Control value into ``(lower-cased name, argument)`` pairs.

    Raises:
        ValueError: the value is empty or not a comma-separated list of
            ``name`` / ``name=token`` / ``name="quoted string"`` directives.
    """
    if not value.strip(" \t"):
        raise ValueError("is empty")
    directives, position = [], 0
    while position < len(value):
        match = _DIRECTIVE.match(value, position)
        if match is None:
            raise ValueError(
                f"is malformed at character {position + 1}: {show(value[position:])}"
            )
        if match["end"] == "," and not value[match.end() :].strip(" \t"):
            raise ValueError("ends with a comma")
        directives.append((match["name"].lower(), match["arg"]))
        position = match.end()
    return directives


def directive_problem(name: str, argument: str | None) -> str | None:
    if name in _DELTA_SECONDS and (argument is None or not DIGITS.fullmatch(argument)):
        return f"needs a whole number of seconds: {name}=<seconds>"
    if name in _NO_ARGUMENT and argument is not None:
        return f"takes no value: {name}"
    return None
