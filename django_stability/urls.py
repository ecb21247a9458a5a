"""URLconf of django-stability: ``path("stability/", include("django_stability.urls"))``.

Names live in the ``stability`` namespace (``reverse("stability:version")``).
"""

from __future__ import annotations

from django.urls import path

from django_stability import views

app_name = "stability"

urlpatterns = [
    path("version", views.version, name="version"),
    path("metrics", views.metrics, name="metrics"),
]
