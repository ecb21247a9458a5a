"""Breakers around the database, a cache backend, an email backend and HTTP calls.

* Database: :func:`install_database_breaker`, or a breaker named ``database``
  (``database:<alias>``) in ``STABILITY_BREAKERS``.
* Cache: ``"BACKEND": "django_stability.breakers.integrations.BreakerCache"``.
* Email: ``EMAIL_BACKEND = "django_stability.breakers.integrations.BreakerEmailBackend"``
  (a ``MAILERS`` backend from Django 6.1).
* HTTP: :mod:`django_stability.breakers.integrations.http` (needs the ``http`` extra).
"""

from __future__ import annotations

from django_stability.breakers.integrations import (  # noqa: F401 - importing registers the checks
    _checks,
)
from django_stability.breakers.integrations._cache import BreakerCache
from django_stability.breakers.integrations._database import (
    install_database_breaker,
    uninstall_database_breaker,
)
from django_stability.breakers.integrations._email import (
    BreakerEmailBackend,
    is_mail_failure,
)
from django_stability.errors._database import is_connection_error

__all__ = [
    "BreakerCache",
    "BreakerEmailBackend",
    "install_database_breaker",
    "is_connection_error",
    "is_mail_failure",
    "uninstall_database_breaker",
]
