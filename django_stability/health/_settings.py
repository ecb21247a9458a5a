"""The health settings, parsed here for the probes and for the system checks (:mod:`._checks`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from health_check.base import HealthCheck

from django_stability.checks._base import (
    SettingRules,
    is_list,
    kind,
    non_negative_number,
    positive_number,
)
from django_stability.conf import PREFIX, conf

READINESS = f"{PREFIX}READINESS_CHECKS"

#: The numeric settings (their ``conf`` attributes) and their rules.
RULES = SettingRules(health_timeout=positive_number, drain_seconds=non_negative_number)


class NotAHealthCheck(ValueError):
    """A readiness entry imports, but is not a ``HealthCheck`` subclass."""


def parsed(attribute: str) -> float:
    """A numeric setting's value, or ``ImproperlyConfigured`` naming it and what is wrong."""
    return RULES.value(attribute)  # type: ignore[no-any-return]


def readiness_shape(value: Any) -> list[tuple[str, str]]:
    """``(where, problem)`` for each way ``value`` is not None or a list of dotted paths."""
    if value is None:
        return []
    if not is_list(value):
        return [("", f"must be None or a list of dotted paths, not {kind(value)}")]
    return [
        (f"[{index}]", f"must be a dotted path, not {kind(path)}")
        for index, path in enumerate(value)
        if not (isinstance(path, str) and "." in path)
    ]


def readiness_class(path: str) -> type[HealthCheck]:
    """The class a dotted path names; raises what importing it raises, or :class:`NotAHealthCheck`."""
    found = import_string(path)
    if not (isinstance(found, type) and issubclass(found, HealthCheck)):
        raise NotAHealthCheck(
            f"{path!r} is not a subclass of health_check.base.HealthCheck"
        )
    return found


def readiness_classes() -> list[type[HealthCheck]] | None:
    """``STABILITY_READINESS_CHECKS`` as classes, or ``None`` for the default checks."""
    value: Any = conf.readiness_checks
    for where, found in readiness_shape(value):
        raise ImproperlyConfigured(f"{READINESS}{where} {found}.")
    return None if value is None else [readiness_class(path) for path in value]
