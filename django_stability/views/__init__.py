"""The views behind ``django_stability.urls``, one module per concern."""

from __future__ import annotations

from django_stability.views.metrics import metrics
from django_stability.views.version import version

__all__ = ["metrics", "version"]
