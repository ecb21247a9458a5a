"""The ASGI application the multi-process tests serve with real uvicorn processes.

Configured from the environment the test sets: ``STABILITY_REDIS_URL``, the
channel layer's ``STABILITY_TEST_LAYER_PREFIX`` and ``STABILITY_TEST_LAYER_CAPACITY``,
and ``STABILITY_TEST_REALTIME`` (JSON for ``STABILITY_REALTIME``). The user
comes from ``?user=<id>`` (a stand-in for session authentication, which is not
what these tests exercise); ``POST /broadcast/<channel>/`` with
``{"events": [...]}`` broadcasts from this process. ``?db=down`` makes the
user lookup query the ``down`` database, whose port nothing listens on, as an
authentication stack does during a database outage; ``OutageGuard`` answers.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any
from urllib.parse import parse_qs

import django
from django.conf import settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django_stability",
    ],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        "down": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": _closed_port(),
            "NAME": "postgres",
            "USER": "postgres",
            "OPTIONS": {"connect_timeout": 2},
        },
    },
    STABILITY_REDIS_URL=os.environ["STABILITY_REDIS_URL"],
    # Every channel open to every (query-string) user, unless a test declares its own.
    STABILITY_REALTIME={
        "CHANNELS": {"*": "authenticated"},
        **json.loads(os.environ.get("STABILITY_TEST_REALTIME", "{}")),
    },
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket timeout for the layer: see docs/realtime.rst, "Deployment".
                "hosts": [
                    {
                        "address": os.environ["STABILITY_REDIS_URL"],
                        "socket_timeout": None,
                    }
                ],
                "prefix": os.environ["STABILITY_TEST_LAYER_PREFIX"],
                "capacity": int(os.environ.get("STABILITY_TEST_LAYER_CAPACITY", "100")),
            },
        }
    },
    LOGGING_CONFIG=None,
    USE_TZ=True,
)
django.setup()
# channels-redis says at INFO when group_send dropped messages: the loss test counts them.
logging.basicConfig(level=logging.WARNING)
logging.getLogger("channels_redis").setLevel(logging.INFO)

from channels.db import database_sync_to_async  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.db import connections  # noqa: E402
from django.urls import path  # noqa: E402
from prometheus_client import REGISTRY  # noqa: E402

from django_stability import metrics  # noqa: E402, F401  (registers the gauge)
from django_stability.realtime import OutageGuard, abroadcast  # noqa: E402
from django_stability.realtime.routing import (  # noqa: E402
    http_urlpatterns,
    websocket_urlpatterns,
)
from django_stability.state import StateUnavailable  # noqa: E402


class QueryUser:
    """``scope["user"]`` from ``?user=``: authenticated when given."""

    def __init__(self, pk: str | None) -> None:
        self.pk = pk
        self.is_authenticated = pk is not None


def _query_down() -> None:
    with connections["down"].cursor() as cursor:
        cursor.execute("SELECT 1")


class UserFromQuery:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode())
        if query.get("db") == ["down"]:
            await database_sync_to_async(_query_down)()
        scope = {**scope, "user": QueryUser(query.get("user", [None])[0])}
        return await self.inner(scope, receive, send)


async def broadcast_view(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``POST broadcast/<channel>/`` ``{"events": [...]}``: their ids, or 503 while Redis is out.

    A plain ASGI application rather than a Channels consumer: a consumer also
    listens on a channel-layer channel of its own, which a Redis connection
    reset crashes, and the fault tests count crashes of the realtime layer only.
    """
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    channel = scope["url_route"]["kwargs"]["channel"]
    try:
        ids = [await abroadcast(channel, event) for event in json.loads(body)["events"]]
        status, answer = 200, json.dumps({"ids": ids}).encode()
    except StateUnavailable as exc:  # Redis is out: the caller retries
        status, answer = 503, str(exc).encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": answer})


async def gauge_view(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``GET connections/``: this process's ``stability_realtime_connections`` gauge, per transport."""
    counts = {
        transport: REGISTRY.get_sample_value(
            "stability_realtime_connections", {"transport": transport}
        )
        for transport in ("websocket", "sse")
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(counts).encode()})


application = ProtocolTypeRouter(
    {
        "http": UserFromQuery(
            URLRouter(
                [
                    path("broadcast/<str:channel>/", broadcast_view),  # type: ignore[arg-type]
                    path("connections/", gauge_view),  # type: ignore[arg-type]
                    *http_urlpatterns,
                ]
            )
        ),
        "websocket": OutageGuard(UserFromQuery(URLRouter(websocket_urlpatterns))),
    }
)
