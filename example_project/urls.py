from __future__ import annotations

import re

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("stability/", include("django_stability.urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("notes/favicon.svg"))),
    path("", include("example_project.notes.urls")),
]

if settings.DEBUG:
    # Static files through Django, under runserver and uvicorn alike, with the same
    # middleware and access line as every request. "no-cache" (revalidate, then 304)
    # rather than the day-long immutable /static/ policy, so an edited file shows on
    # reload. With DEBUG off the proxy serves collectstatic's output (the deploy kit).
    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.STATIC_URL.lstrip('/'))}(?P<path>.*)\Z",
            cache_control(no_cache=True)(serve),
        )
    ]

# An error raised outside ProblemDetailsMiddleware (in a middleware before it)
# keeps its status too: a database outage there is a 503, not a 500.
handler500 = "django_stability.errors.server_error"
