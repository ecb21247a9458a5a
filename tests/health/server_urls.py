"""URLs of the throwaway servers: the stability URLs and one view using the database."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from django_stability.health._probes import ProbeSet, use_probes

# The tests drive these servers from outside: results are not reused, so the
# next probe after a change sees it, without waiting out the 1 s cache.
use_probes(ProbeSet(max_age=0))


def db(request: HttpRequest) -> JsonResponse:
    """An application request that needs the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return JsonResponse({"one": one})


urlpatterns = [
    path("stability/", include("django_stability.urls")),
    path("db/", db),
]
