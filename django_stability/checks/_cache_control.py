"""Cache-Control values: RFC 9110 list syntax and the RFC 9111 response directives."""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage

from django_stability.checks._base import is_list, kind, show, suggest
from django_stability.checks._codes import Codes
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


def policy_messages(name: str, value: Any) -> list[CheckMessage]:
    """The check messages of a list of ``(path prefix, Cache-Control)`` pairs named ``name``."""
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
