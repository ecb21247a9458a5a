"""URLs of the health benchmark: our probes and a plain django-health-check view."""

from __future__ import annotations

from django.urls import include, path
from health_check.views import HealthCheckView

urlpatterns = [
    path("stability/", include("django_stability.urls")),
    path(
        "peer/",
        HealthCheckView.as_view(
            checks=["health_check.checks.Database", "health_check.checks.Cache"]
        ),
    ),
]
