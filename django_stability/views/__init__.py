"""The views behind ``django_stability.urls``, one module per concern."""

from __future__ import annotations

from django_stability.views.breakers import breaker_action, breaker_detail, breaker_list
from django_stability.views.version import version

__all__ = ["breaker_action", "breaker_detail", "breaker_list", "version"]
