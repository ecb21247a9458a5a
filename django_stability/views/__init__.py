"""The views behind ``django_stability.urls``, one module per concern."""

from __future__ import annotations

from django_stability.views.drafts import draft, drafts
from django_stability.views.keepalive import keepalive
from django_stability.views.version import version

__all__ = ["draft", "drafts", "keepalive", "version"]
