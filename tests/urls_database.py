"""Views that query a given database alias, sync and async, under the API prefix and outside it."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path

# What each kind of request runs; all but "select" fail with the query's own error.
SQL = {
    "select": ["SELECT 1"],
    "integrity": [
        "CREATE TEMP TABLE t (id int PRIMARY KEY)",
        "INSERT INTO t VALUES (1), (1)",
    ],
    "timeout": ["SET LOCAL statement_timeout = 20", "SELECT pg_sleep(2)"],
}


def _run(alias: str, kind: str) -> int:
    try:
        # In a transaction: the temporary table and SET LOCAL end with it.
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            for sql in SQL[kind]:
                cursor.execute(sql)
            return int(cursor.fetchone()[0])
    finally:
        # What request_finished does with CONN_MAX_AGE = 0 (the test client
        # skips it): the next request connects (or takes from the pool) again.
        for connection in connections.all(initialized_only=True):
            connection.close()


def query(request: HttpRequest, alias: str, kind: str) -> HttpResponse:
    return JsonResponse({"one": _run(alias, kind)})


async def aquery(request: HttpRequest, alias: str, kind: str) -> HttpResponse:
    return JsonResponse({"one": await sync_to_async(_run)(alias, kind)})


urlpatterns: list[URLPattern] = [
    path("api/db/<str:alias>/<str:kind>/", query),
    path("api/async/db/<str:alias>/<str:kind>/", aquery),
    path("shop/db/<str:alias>/<str:kind>/", query),
]
