"""Views that use a guarded database alias or cache, sync and async, under the API prefix."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path

#: The cache alias the fault tests point at throwaway servers.
FAULT_CACHE = "guarded"


def _select_one(alias: str) -> int:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return int(cursor.fetchone()[0])
    finally:
        # What request_finished does with CONN_MAX_AGE = 0 (the test client
        # skips it): the next request connects again.
        for connection in connections.all(initialized_only=True):
            connection.close()


def db(request: HttpRequest, alias: str) -> HttpResponse:
    return JsonResponse({"one": _select_one(alias)})


async def adb(request: HttpRequest, alias: str) -> HttpResponse:
    return JsonResponse({"one": await sync_to_async(_select_one)(alias)})


def cache_view(request: HttpRequest) -> HttpResponse:
    cache = caches[FAULT_CACHE]
    hit = cache.get("page")
    cache.set("page", "cached")
    return JsonResponse({"hit": hit is not None})


async def acache_view(request: HttpRequest) -> HttpResponse:
    cache = caches[FAULT_CACHE]
    hit = await cache.aget("page")
    await cache.aset("page", "cached")
    return JsonResponse({"hit": hit is not None})


urlpatterns: list[URLPattern] = [
    path("api/db/<str:alias>/", db),
    path("api/async/db/<str:alias>/", adb),
    path("api/cache/", cache_view),
    path("api/async/cache/", acache_view),
]
