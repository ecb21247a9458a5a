from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stability/", include("django_stability.urls")),
    path("", include("example_project.notes.urls")),
]
