"""System checks for the ``STABILITY_*`` settings and the project around them."""

from __future__ import annotations

from django.core.checks import register

from django_stability.checks import _core, _deploy, _features, _project
from django_stability.checks._base import CHECKS, TAG, RegisteredCheck
from django_stability.checks._codes import Codes
from django_stability.checks._message import REMOVED_SETTINGS, Removed

__all__ = [
    "CHECKS",
    "REMOVED_SETTINGS",
    "TAG",
    "Codes",
    "RegisteredCheck",
    "Removed",
    "register_all",
]

# Importing the modules collected their checks, in this order.
_MODULES = (_core, _features, _project, _deploy)


def register_all() -> None:
    """Register every check with Django's registry (idempotent).

    Called by ``DjangoStabilityConfig.ready()``.

    .. versionadded:: 0.1.0
    """
    for registered in CHECKS:
        register(registered.func, *registered.tags, deploy=registered.deploy)
