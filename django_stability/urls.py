"""URLconf of django-stability: ``path("stability/", include("django_stability.urls"))``."""

from __future__ import annotations

from django.urls import path, re_path

from django_stability import views
from django_stability._dual_urls import dual_path
from django_stability.views import breakers

app_name = "stability"

urlpatterns = [
    path("version", views.version, name="version"),
    path("breakers/", breakers.breaker_list, name="breakers"),
    # Any name without a slash reaches the view, which answers a malformed one
    # with the same 404 problem as an unknown one.
    path("breakers/<str:name>", breakers.breaker_detail, name="breaker"),
    re_path(
        r"^breakers/(?P<name>[^/]+)/(?P<action>open|close|reset|release)$",
        breakers.breaker_action,
        name="breaker-action",
    ),
    path("metrics", views.metrics, name="metrics"),
    path("health/", views.health.full, name="health"),
    # Probes: a sync view under WSGI, its async twin under ASGI (no thread hand-off).
    dual_path("health/live", views.health.live, views.health.alive, name="health-live"),
    dual_path(
        "health/ready", views.health.ready, views.health.aready, name="health-ready"
    ),
    dual_path(
        "health/startup",
        views.health.startup,
        views.health.astartup,
        name="health-startup",
    ),
    path("keepalive", views.keepalive, name="keepalive"),
    path("drafts/", views.drafts, name="drafts"),
    # Anything, slashes and newlines included, so that a bad key gets its 400, not a 404.
    re_path(r"^drafts/(?P<key>[\s\S]+)\Z", views.draft, name="draft"),
]
