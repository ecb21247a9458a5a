"""A URLconf with a site root and regular-expression routes, for the access line's ``route``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path

from tests import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.ok),
    path("stability/", include("django_stability.urls")),
    re_path(r"^reports/(?P<year>[0-9]{4})/(\w+)\.csv$", views.ok),
    re_path(r"^files/(?:v1/)?(?P<name>[^/]+)\Z", views.ok),
]
