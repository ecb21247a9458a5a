"""What each breaker guards, in words, for the operators' pages."""

from __future__ import annotations

from dataclasses import dataclass

import django
from django.conf import settings

from django_stability.breakers._breaker import CircuitBreaker
from django_stability.breakers.integrations import _database

_CACHE = "django_stability.breakers.integrations.BreakerCache"
_EMAIL = "django_stability.breakers.integrations.BreakerEmailBackend"


@dataclass(frozen=True)
class Guarded:
    """One thing a breaker stands in front of."""

    #: ``"database"``, ``"cache"`` or ``"email"``.
    kind: str
    #: What an operator reads: "every query of the database 'default'".
    description: str

    @property
    def critical(self) -> bool:
        """Forcing it open takes most of a site down: the admin asks first."""
        return self.kind in ("database", "cache")


def _name(target: str | CircuitBreaker) -> str:
    return target if isinstance(target, str) else target.name


def guarded_by(name: str) -> list[Guarded]:
    """What breaker ``name`` guards among the built-in integrations this project configures.

    The database aliases it is installed on, the ``BreakerCache`` entries of
    ``CACHES`` and the ``BreakerEmailBackend`` that name it. A breaker used
    only from code (a decorator, the HTTP helper) guards nothing listed here.
    """
    found = [
        Guarded("database", f"every query and connection of the database {alias!r}")
        for alias, target in _database._installed.items()
        if _name(target) == name
    ]
    for alias, params in getattr(settings, "CACHES", {}).items():
        options = params.get("OPTIONS") or {}
        if (
            params.get("BACKEND") == _CACHE
            and _name(options.get("BREAKER", "cache")) == name
        ):
            found.append(
                Guarded("cache", f"the cache {alias!r} (open: every read misses)")
            )
    for alias, breaker_name in _email_breakers():
        if breaker_name == name:
            found.append(Guarded("email", f"outgoing email ({alias})"))
    return found


def _email_breakers() -> list[tuple[str, str]]:
    """``(mailer, breaker name)`` of each ``BreakerEmailBackend`` the project sends through."""
    mailers = getattr(
        settings, "MAILERS", None
    )  # Django 6.1's, when the project sets it
    if isinstance(mailers, dict) and mailers:
        return [
            (str(alias), _name((params.get("OPTIONS") or {}).get("breaker", "email")))
            for alias, params in mailers.items()
            if isinstance(params, dict) and params.get("BACKEND") == _EMAIL
        ]
    # Before 6.1 only: reading EMAIL_BACKEND from 6.1 on is itself deprecated.
    if django.VERSION < (6, 1) and getattr(settings, "EMAIL_BACKEND", "") == _EMAIL:
        return [("default", "email")]
    return []
