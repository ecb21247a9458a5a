"""System checks of ``STABILITY_REALTIME``.

The rule each key's value follows is declared here, beside the package that
reads the keys (``_session.Options``, ``_policy``); ``CONNECT_RATE`` is held
to the rate grammar of :mod:`django_stability.ratelimit`, which parses it at
run time too. The defaults are ``conf.DEFAULT_REALTIME`` (the setting's own
default; a test keeps the two key lists equal). The IDs are declared with the
others in :class:`django_stability.checks.Codes`. The checks join the
project's registry when the app config imports this module, before it
registers them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage

from django_stability.checks._base import (
    Validator,
    check,
    dotted_callable,
    kind,
    positive_int,
    positive_number,
    show,
    suggest,
)
from django_stability.checks._codes import Codes
from django_stability.conf import DEFAULT_REALTIME, Settings, conf
from django_stability.ratelimit._rates import rate_problem

_CHANNEL_PATTERN = re.compile(r"(?:[A-Za-z0-9._:*-]|\{user\.(?:pk|username)\})+")


def _channel_rule(rule: Any) -> str | None:
    if callable(rule) or rule in ("authenticated", "staff"):
        return None
    if not isinstance(rule, str):
        return f"must be 'authenticated', 'staff', 'perm:<app_label>.<codename>' or a callable, not {kind(rule)}"
    if rule.startswith("perm:"):
        if re.fullmatch(r"perm:[\w]+\.[\w]+", rule):
            return None
        return f"{rule!r} must name one permission as 'perm:<app_label>.<codename>'"
    return dotted_callable(rule)


def channel_policy(value: Any) -> str | None:
    """``STABILITY_REALTIME["CHANNELS"]``: channel pattern -> rule."""
    if not isinstance(value, Mapping):
        return f"must be a dict of channel pattern -> rule, not {kind(value)}"
    for pattern, rule in value.items():
        if not (isinstance(pattern, str) and _CHANNEL_PATTERN.fullmatch(pattern)):
            return (
                f"has an invalid channel pattern {show(pattern)}: use channel characters "
                "[A-Za-z0-9._:-], * and {user.pk} or {user.username}"
            )
        if problem := _channel_rule(rule):
            return f"[{pattern!r}] {problem}"
    return None


# The keys of STABILITY_REALTIME; a test keeps them equal to conf.DEFAULT_REALTIME's.
REALTIME_OPTIONS: dict[str, Validator] = {
    "HEARTBEAT": positive_number,
    "MAX_CONNECTIONS_PER_USER": positive_int,
    "CONNECT_RATE": rate_problem,
    "REPLAY_MAX_EVENTS": positive_int,
    "REPLAY_TTL": positive_number,
    "SEND_TIMEOUT": positive_number,
    "CHANNELS": channel_policy,
}


@check()
def check_realtime(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.realtime.setting_name
    value: Any = conf.realtime
    known = ", ".join(DEFAULT_REALTIME)
    if not isinstance(value, Mapping):
        problem = f"must be a dict, not {kind(value)}"
        return [Codes.REALTIME.msg(name, problem=problem, known=known)]
    messages = []
    for key, option in value.items():
        where = f"{name}[{show(key)}]"
        validator = REALTIME_OPTIONS.get(key) if isinstance(key, str) else None
        if validator is None:
            problem = "is not a realtime option" + suggest(
                str(key), list(REALTIME_OPTIONS)
            )
            messages.append(
                Codes.REALTIME.msg(name, where=where, problem=problem, known=known)
            )
        elif invalid := validator(option):
            messages.append(
                Codes.REALTIME_OPTION.msg(name, where=where, problem=invalid)
            )
    return messages


@check()
def check_realtime_channels(**kwargs: Any) -> list[CheckMessage]:
    """An empty channel policy refuses every subscription: say so where realtime is installed."""
    if not apps.is_installed("channels"):
        return []
    value: Any = conf.realtime
    if not isinstance(value, Mapping) or value.get("CHANNELS"):
        return []
    return [Codes.REALTIME_NO_CHANNELS.msg(Settings.realtime.setting_name)]
