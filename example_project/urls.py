from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stability/", include("django_stability.urls")),
    path("", include("example_project.notes.urls")),
]

# An error raised outside ProblemDetailsMiddleware (in a middleware before it)
# keeps its status too: a database outage there is a 503, not a 500.
handler500 = "django_stability.errors.server_error"
