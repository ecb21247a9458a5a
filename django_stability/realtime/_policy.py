"""Who may subscribe to which channel: ``STABILITY_REALTIME["CHANNELS"]``, denying by default (see docs/realtime.rst)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from django_stability.conf import cached_on_settings
from django_stability.realtime._settings import realtime_config

_PLACEHOLDER = re.compile(r"\{user\.(pk|username)\}")

Rule = Callable[[Any, str], Any]


def _authenticated(user: Any, channel: str) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _staff(user: Any, channel: str) -> bool:
    return _authenticated(user, channel) and bool(getattr(user, "is_staff", False))


def _permission(perm: str) -> Rule:
    async def has(user: Any, channel: str) -> bool:
        # has_perm reads the database: off the event loop.
        return bool(await sync_to_async(user.has_perm)(perm))

    return has


def _rule(value: Any) -> Rule:
    """The function a rule of the setting names (the parser validated it)."""
    if callable(value):
        return value  # type: ignore[no-any-return]
    if value == "authenticated":
        return _authenticated
    if value == "staff":
        return _staff
    if value.startswith("perm:"):
        return _permission(value[len("perm:") :])
    found: Rule = import_string(value)
    return found


@cached_on_settings
def _policy() -> tuple[tuple[str, Rule], ...]:
    channels = realtime_config().channels
    return tuple((str(pattern), _rule(rule)) for pattern, rule in channels.items())


def _glob(text: str) -> str:
    """A pattern's literal text as a regular expression, ``*`` standing for any run of characters."""
    return ".*".join(re.escape(piece) for piece in text.split("*"))


def _matches(pattern: str, channel: str, user: Any) -> bool:
    # Placeholders become the user's own values, matched literally.
    parts = _PLACEHOLDER.split(pattern)
    regex = "".join(
        re.escape(str(getattr(user, part, ""))) if index % 2 else _glob(part)
        for index, part in enumerate(parts)
    )
    return re.fullmatch(regex, channel, re.DOTALL) is not None


def declared_rule(user: Any, channel: str) -> Rule | None:
    """The rule of the first pattern matching ``channel`` for ``user``, or ``None`` (undeclared)."""
    for pattern, rule in _policy():
        if _matches(pattern, channel, user):
            return rule
    return None


async def allowed(user: Any, channel: str) -> bool:
    """Whether the channel policy lets ``user`` subscribe to ``channel``; undeclared channels are refused."""
    rule = declared_rule(user, channel)
    if rule is None:
        return False
    answer = rule(user, channel)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)
