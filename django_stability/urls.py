"""URLconf of django-stability: ``path("stability/", include("django_stability.urls"))``.

Names live in the ``stability`` namespace (``reverse("stability:version")``).
"""

from __future__ import annotations

from django.urls import path

from django_stability import views

app_name = "stability"

urlpatterns = [
    path("version", views.version, name="version"),
    path("health/", views.health.full, name="health"),
    path("health/live", views.health.live, name="health-live"),
    path("health/ready", views.health.ready, name="health-ready"),
    path("health/startup", views.health.startup, name="health-startup"),
]
