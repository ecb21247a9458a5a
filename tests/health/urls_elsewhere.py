"""django-stability's URLs mounted under ``ops/`` instead of ``stability/``."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("ops/", include("django_stability.urls"))]
