from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from tests import endpoints

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("stability/", include("django_stability.urls")),
]

# Every view is reachable under /api/ (problem+json territory) and /html/ (browser pages),
# in a sync and an async variant.
for prefix in ("api", "html"):
    urlpatterns += [
        path(f"{prefix}/ok/", endpoints.ok),
        path(f"{prefix}/async/ok/", endpoints.aok),
        path(f"{prefix}/text/", endpoints.text),
        path(f"{prefix}/async/text/", endpoints.atext),
        path(f"{prefix}/cache-control/", endpoints.with_cache_control),
        path(f"{prefix}/async/cache-control/", endpoints.awith_cache_control),
        path(f"{prefix}/stream/", endpoints.stream),
        path(f"{prefix}/async/stream/", endpoints.astream),
        path(f"{prefix}/fail/<str:kind>/", endpoints.fail),
        path(f"{prefix}/async/fail/<str:kind>/", endpoints.afail),
    ]
urlpatterns.append(path("static/app.css", endpoints.text))

# Exceptions with their own status and error responses built by views (problem details tests).
for prefix in ("api", "html"):
    urlpatterns += [
        path(f"{prefix}/more/<str:kind>/", endpoints.more),
        path(f"{prefix}/async/more/<str:kind>/", endpoints.amore),
    ]

# Correlation IDs, structured logs and the access log.
urlpatterns += [
    path("obs/log/", endpoints.log_inside),
    path("obs/async/log/", endpoints.alog_inside),
    path("obs/whoami/", endpoints.whoami),
    path("obs/async/whoami/", endpoints.awhoami),
    path("obs/stream/", endpoints.stream_logging),
    path("obs/async/stream/", endpoints.astream_logging),
    path("obs/exposed/", endpoints.exposed),
    path("obs/gone/", endpoints.gone),
    path("obs/async/gone/", endpoints.agone),
    path("obs/async/hang/", endpoints.ahang),
    path("obs/items/<int:pk>/", endpoints.item),
    path("obs/async/items/<int:pk>/", endpoints.aitem),
]
