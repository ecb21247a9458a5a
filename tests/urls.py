from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from tests import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("stability/", include("django_stability.urls")),
]

# Every view is reachable under /api/ (problem+json territory) and /html/ (browser pages),
# in a sync and an async variant.
for prefix in ("api", "html"):
    urlpatterns += [
        path(f"{prefix}/ok/", views.ok),
        path(f"{prefix}/async/ok/", views.aok),
        path(f"{prefix}/text/", views.text),
        path(f"{prefix}/async/text/", views.atext),
        path(f"{prefix}/cache-control/", views.with_cache_control),
        path(f"{prefix}/async/cache-control/", views.awith_cache_control),
        path(f"{prefix}/stream/", views.stream),
        path(f"{prefix}/async/stream/", views.astream),
        path(f"{prefix}/fail/<str:kind>/", views.fail),
        path(f"{prefix}/async/fail/<str:kind>/", views.afail),
    ]
urlpatterns.append(path("static/app.css", views.text))

# Exceptions with their own status and error responses built by views (problem details tests).
for prefix in ("api", "html"):
    urlpatterns += [
        path(f"{prefix}/more/<str:kind>/", views.more),
        path(f"{prefix}/async/more/<str:kind>/", views.amore),
    ]

# Correlation IDs, structured logs and the access log.
urlpatterns += [
    path("obs/log/", views.log_inside),
    path("obs/async/log/", views.alog_inside),
    path("obs/whoami/", views.whoami),
    path("obs/async/whoami/", views.awhoami),
    path("obs/stream/", views.stream_logging),
    path("obs/async/stream/", views.astream_logging),
    path("obs/exposed/", views.exposed),
    path("obs/gone/", views.gone),
    path("obs/async/gone/", views.agone),
    path("obs/async/hang/", views.ahang),
    path("obs/items/<int:pk>/", views.item),
    path("obs/async/items/<int:pk>/", views.aitem),
]
