"""System checks of the integrations' configuration: breaker-guarded aliases and wrapped caches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags
from django.utils.module_loading import import_string

from django_stability.checks._base import check, kind
from django_stability.checks._codes import Codes
from django_stability.conf import conf

_BREAKER_CACHE = "django_stability.breakers.integrations.BreakerCache"


@check(Tags.database)
def check_database_breakers(**kwargs: Any) -> list[CheckMessage]:
    """A ``database:<alias>`` breaker must name a key of ``DATABASES``."""
    breakers: Any = conf.breakers
    if not isinstance(breakers, dict):
        return []  # E012 reports it
    return [
        Codes.DATABASE_BREAKER_ALIAS.msg(
            "STABILITY_BREAKERS", where=f"STABILITY_BREAKERS[{name!r}]", alias=alias
        )
        for name in breakers
        if isinstance(name, str) and name.startswith("database:")
        for alias in [name.partition(":")[2]]
        if alias not in settings.DATABASES
    ]


def _wrapped_problem(options: Any) -> str | None:
    from django_stability.breakers.integrations._cache import BreakerCache

    backend = options.get("BACKEND") if isinstance(options, dict) else None
    if not isinstance(backend, str):
        return f"must be the dotted path of the wrapped backend, not {kind(backend)}"
    try:
        wrapped = import_string(backend)
    except ImportError as exc:
        return f"cannot be imported: {exc}"
    if isinstance(wrapped, type) and issubclass(wrapped, BreakerCache):
        return "is BreakerCache itself, which would wrap itself forever"
    return None


@check(Tags.caches)
def check_breaker_caches(**kwargs: Any) -> list[CheckMessage]:
    """Each ``BreakerCache`` entry of ``CACHES`` must name an importable backend to wrap."""
    messages = []
    caches: dict[str, Any] = settings.CACHES
    for alias, entry in caches.items():
        if not isinstance(entry, dict) or entry.get("BACKEND") != _BREAKER_CACHE:
            continue
        if (problem := _wrapped_problem(entry.get("OPTIONS"))) is not None:
            where = f"CACHES[{alias!r}]['OPTIONS']['BACKEND']"
            messages.append(
                Codes.BREAKER_CACHE_BACKEND.msg("CACHES", where=where, problem=problem)
            )
    return messages
