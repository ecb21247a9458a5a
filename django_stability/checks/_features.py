"""Checks of the settings the capabilities read: drafts, realtime, health (breakers: ``breakers/_checks.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import (
    Validator,
    check,
    dotted_callable,
    import_object,
    is_list,
    kind,
    non_negative_number,
    positive_int,
    positive_number,
    positive_timedelta,
    rate,
    show,
    suggest,
)
from django_stability.checks._codes import Codes
from django_stability.conf import DEFAULT_REALTIME, Settings, conf

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
    "CONNECT_RATE": rate,
    "REPLAY_MAX_EVENTS": positive_int,
    "REPLAY_TTL": positive_number,
    "SEND_TIMEOUT": positive_number,
    "CHANNELS": channel_policy,
}


def _value_check(
    code: Codes, name: str, value: Any, validator: Validator
) -> list[CheckMessage]:
    problem = validator(value)
    return [] if problem is None else [code.msg(name, problem=problem)]


@check()
def check_draft_ttl(**kwargs: Any) -> list[CheckMessage]:
    return _value_check(
        Codes.DRAFT_TTL,
        Settings.draft_ttl.setting_name,
        conf.draft_ttl,
        positive_timedelta,
    )


@check()
def check_draft_max_bytes(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.draft_max_bytes.setting_name
    value = conf.draft_max_bytes
    if messages := _value_check(Codes.DRAFT_MAX_BYTES, name, value, positive_int):
        return messages
    # Django refuses a larger body before the drafts view can read it.
    upload: Any = (
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )  # None (no limit) too, despite the stubs
    if upload is not None and value > upload:
        return [Codes.DRAFT_MAX_BYTES_OVER_UPLOAD.msg(name, value=value, upload=upload)]
    return []


@check()
def check_drafts_per_user(**kwargs: Any) -> list[CheckMessage]:
    return _value_check(
        Codes.DRAFTS_PER_USER,
        Settings.drafts_per_user.setting_name,
        conf.drafts_per_user,
        positive_int,
    )


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


@check()
def check_health_timeout(**kwargs: Any) -> list[CheckMessage]:
    return _value_check(
        Codes.HEALTH_TIMEOUT,
        Settings.health_timeout.setting_name,
        conf.health_timeout,
        positive_number,
    )


def _readiness_problem(path: Any) -> tuple[Codes, str] | None:
    from health_check.base import HealthCheck

    if not (isinstance(path, str) and "." in path):
        return Codes.READINESS_CHECKS, f"must be a dotted path, not {kind(path)}"
    obj, problem = import_object(path)
    if problem is None and not (isinstance(obj, type) and issubclass(obj, HealthCheck)):
        problem = f"{path!r} is not a subclass of health_check.base.HealthCheck"
    return None if problem is None else (Codes.READINESS_CHECK_IMPORT, problem)


@check()
def check_readiness_checks(**kwargs: Any) -> list[CheckMessage]:
    name = Settings.readiness_checks.setting_name
    value: Any = conf.readiness_checks
    if value is None:
        return []
    if not is_list(value):
        problem = f"must be None or a list of dotted paths, not {kind(value)}"
        return [Codes.READINESS_CHECKS.msg(name, problem=problem)]
    messages = []
    for index, path in enumerate(value):
        if found := _readiness_problem(path):
            code, problem = found
            messages.append(code.msg(name, where=f"{name}[{index}]", problem=problem))
    return messages


# RFC 6750 b64token: what an "Authorization: Bearer <token>" header can carry.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@check(Tags.security)
def check_metrics_token(**kwargs: Any) -> list[CheckMessage]:
    # The token is a secret: messages describe it, never show it.
    value: Any = conf.metrics_token
    if value is None:
        return []
    if not isinstance(value, str):
        problem = f"must be None or a string, not {type(value).__name__}"
    elif not value:
        problem = "is empty"
    elif not _BEARER_TOKEN.fullmatch(value):
        problem = "contains characters a Bearer token cannot carry (letters, digits and -._~+/ then optional =)"
    else:
        return []
    return [
        Codes.METRICS_TOKEN.msg(Settings.metrics_token.setting_name, problem=problem)
    ]


@check(Tags.security, deploy=True)
def check_metrics_token_length(**kwargs: Any) -> list[CheckMessage]:
    value: Any = conf.metrics_token
    if not isinstance(value, str) or not value or len(value) >= 16:
        return []
    return [
        Codes.METRICS_TOKEN_SHORT.msg(
            Settings.metrics_token.setting_name, length=len(value)
        )
    ]


@check()
def check_drain_seconds(**kwargs: Any) -> list[CheckMessage]:
    return _value_check(
        Codes.DRAIN_SECONDS,
        Settings.drain_seconds.setting_name,
        conf.drain_seconds,
        non_negative_number,
    )
