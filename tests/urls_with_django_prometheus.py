"""The suite's URLconf plus django-prometheus's ``/metrics`` (see ``_with_django_prometheus``)."""

from __future__ import annotations

from django.urls import include, path

from tests.urls import urlpatterns as _ours

urlpatterns = [*_ours, path("", include("django_prometheus.urls"))]
