"""Views of django-stability, routed by ``django_stability.urls``."""

from __future__ import annotations

from django_stability.views import health
from django_stability.views.drafts import draft, drafts
from django_stability.views.keepalive import keepalive
from django_stability.views.metrics import metrics
from django_stability.views.version import version

__all__ = [
    "draft",
    "drafts",
    "health",
    "keepalive",
    "metrics",
    "version",
]
