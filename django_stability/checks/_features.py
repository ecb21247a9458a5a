"""Checks of the settings the capabilities read: health, metrics, shutdown.

The breakers, drafts and realtime settings are checked in their packages
(``breakers/_checks.py``, ``drafts/_checks.py``, ``realtime/_checks.py``).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.checks import CheckMessage, Tags

from django_stability.checks._base import (
    Validator,
    check,
    import_object,
    is_list,
    kind,
    non_negative_number,
    positive_number,
)
from django_stability.checks._codes import Codes
from django_stability.conf import Settings, conf


def _value_check(
    code: Codes, name: str, value: Any, validator: Validator
) -> list[CheckMessage]:
    problem = validator(value)
    return [] if problem is None else [code.msg(name, problem=problem)]


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
