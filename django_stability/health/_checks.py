"""System checks of the health settings, wording the complaints of :mod:`._settings`."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage

from django_stability.checks._base import check, is_list
from django_stability.checks._codes import Codes
from django_stability.conf import PREFIX, conf
from django_stability.health._settings import (
    READINESS,
    RULES,
    NotAHealthCheck,
    readiness_class,
    readiness_shape,
)


def _number(attribute: str, code: Codes) -> list[CheckMessage]:
    found = RULES.problem(attribute)
    name = f"{PREFIX}{attribute.upper()}"
    return [] if found is None else [code.msg(name, problem=found)]


def _import_problem(path: str) -> str | None:
    try:
        readiness_class(path)
    except NotAHealthCheck as exc:
        return str(exc)
    except Exception as exc:  # any import-time failure is the user's to see
        return f"{path!r} cannot be imported ({type(exc).__name__}: {exc})"
    return None


def _readiness() -> list[CheckMessage]:
    value: Any = conf.readiness_checks
    shape = dict(readiness_shape(value))
    messages = [
        Codes.READINESS_CHECKS.msg(READINESS, where=READINESS + where, problem=found)
        for where, found in shape.items()
    ]
    for index, path in enumerate(value if is_list(value) else ()):
        where = f"{READINESS}[{index}]"
        if f"[{index}]" not in shape and (found := _import_problem(path)):
            code = Codes.READINESS_CHECK_IMPORT
            messages.append(code.msg(READINESS, where=where, problem=found))
    return messages


@check()
def check_health(**kwargs: Any) -> list[CheckMessage]:
    return [
        *_number("health_timeout", Codes.HEALTH_TIMEOUT),
        *_readiness(),
        *_number("drain_seconds", Codes.DRAIN_SECONDS),
    ]
