"""Views that run out of time in each way a deadline stops: a query, an HTTP call, an async wait."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_stability.breakers.integrations import http
from django_stability.deadline import HEADER, remaining

#: Where the slow HTTP views call; set by :func:`silent_server`.
TARGET = {"url": ""}


def left(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"remaining": remaining()})


async def aleft(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"remaining": remaining()})


def _slow_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")


def slow_query(request: HttpRequest) -> HttpResponse:
    _slow_query()
    return JsonResponse({"finished": True})


async def aslow_query(request: HttpRequest) -> HttpResponse:
    await sync_to_async(_slow_query)()
    return JsonResponse({"finished": True})


def slow_http(request: HttpRequest) -> HttpResponse:
    http.get(TARGET["url"], breaker="silent", timeout=30)
    return JsonResponse({"finished": True})


async def aslow_http(request: HttpRequest) -> HttpResponse:
    await http.aget(TARGET["url"], breaker="silent", timeout=30)
    return JsonResponse({"finished": True})


async def ahang(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(30)
    return JsonResponse({"finished": True})  # pragma: no cover - cancelled first


urlpatterns = [
    path("api/left/", left),
    path("api/async/left/", aleft),
    path("api/reports/left/", left),
    path("html/left/", left),
    path("api/query/", slow_query),
    path("api/async/query/", aslow_query),
    path("api/http/", slow_http),
    path("api/async/http/", aslow_http),
    path("api/async/hang/", ahang),
    path("html/async/hang/", ahang),
]

MIDDLEWARE = [
    "django_stability.middleware.CorrelationIdMiddleware",
    "django_stability.middleware.AccessLogMiddleware",
    "django_stability.middleware.DeadlineMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_stability.middleware.ProblemDetailsMiddleware",
]


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback HTTP server that accepts connections, reads the request and never answers; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)  # kept open, never answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in held:
            conn.close()


@contextmanager
def recording_server() -> Iterator[tuple[str, list[str | None]]]:
    """A loopback HTTP server answering 204 that records each request's X-Request-Timeout; its URL and the record."""
    seen: list[str | None] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get(HEADER))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
