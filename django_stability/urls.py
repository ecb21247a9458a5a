"""URLconf of django-stability: ``path("stability/", include("django_stability.urls"))``.

Names live in the ``stability`` namespace (``reverse("stability:version")``).
"""

from __future__ import annotations

from django.urls import path, re_path

from django_stability import views

app_name = "stability"

urlpatterns = [
    path("version", views.version, name="version"),
    path("keepalive", views.keepalive, name="keepalive"),
    path("drafts/", views.drafts, name="drafts"),
    # Anything, slashes and newlines included, so that a bad key gets its 400, not a 404.
    re_path(r"^drafts/(?P<key>[\s\S]+)\Z", views.draft, name="draft"),
]
