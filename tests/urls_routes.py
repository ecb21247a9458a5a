"""A URLconf with a site root and regular-expression routes, for the access line's ``route``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path, re_path

from tests import endpoints

urlpatterns: list[URLPattern | URLResolver] = [
    path("", endpoints.ok),
    path("stability/", include("django_stability.urls")),
    re_path(r"^reports/(?P<year>[0-9]{4})/(\w+)\.csv$", endpoints.ok),
    re_path(r"^files/(?:v1/)?(?P<name>[^/]+)\Z", endpoints.ok),
]
