"""The views behind ``django_stability.urls``, one module per concern."""

from __future__ import annotations

from django_stability.views import health
from django_stability.views.version import version

__all__ = ["health", "version"]
