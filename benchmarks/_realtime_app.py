"""The ASGI application ``benchmarks/realtime.py`` serves under uvicorn, one stack per process.

Configured from the environment: ``BENCH_STACK`` (``ours``, ``channels`` or
``eventstream``), ``BENCH_REDIS_URL`` and ``BENCH_LAYER_PREFIX``. Every stack
serves ``POST /broadcast/<channel>/`` (the JSON body is the event), which
broadcasts from this process the way that stack documents; subscribers
connect to:

- ``ours``: ``ws/stability/events/<channel>/?user=<id>``, ``ResilientConsumer``
  (the user comes from the query: session authentication is not measured);
- ``channels``: ``ws/plain/<channel>/``, ``benchmarks._plain_consumer``;
- ``eventstream``: ``events/<channel>/``, django-eventstream's view, its
  events carried between processes by Redis (``EVENTSTREAM_REDIS``).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import django
from django.conf import settings

STACK = os.environ["BENCH_STACK"]
REDIS_URL = os.environ["BENCH_REDIS_URL"]
_redis = urlsplit(REDIS_URL)

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1"],
    SECRET_KEY="benchmark-only",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django_stability",
        *(["django_eventstream"] if STACK == "eventstream" else []),
    ],
    MIDDLEWARE=[],
    ROOT_URLCONF=__name__,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    STABILITY_REDIS_URL=REDIS_URL,
    # Every benchmark channel open to its (query-string) users.
    STABILITY_REALTIME={"CHANNELS": {"*": "authenticated"}},
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": os.environ["BENCH_LAYER_PREFIX"],
            },
        }
    },
    EVENTSTREAM_REDIS={
        "host": _redis.hostname or "127.0.0.1",
        "port": _redis.port or 6379,
        "db": int(_redis.path.strip("/") or 0),
    },
    LOGGING_CONFIG=None,
    USE_TZ=True,
)
django.setup()

from channels.generic.http import AsyncHttpConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import URLPattern, URLResolver, include, path, re_path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from benchmarks._plain_consumer import PlainConsumer  # noqa: E402
from django_stability.realtime import abroadcast  # noqa: E402
from django_stability.realtime.routing import websocket_urlpatterns  # noqa: E402


class QueryUser:
    """``scope["user"]`` from ``?user=``, one per connection so no per-user cap applies."""

    def __init__(self, pk: str | None) -> None:
        self.pk = pk
        self.is_authenticated = pk is not None


class UserFromQuery:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode())
        scope = {**scope, "user": QueryUser(query.get("user", [None])[0])}
        return await self.inner(scope, receive, send)


class Broadcast(AsyncHttpConsumer):  # type: ignore[misc]
    """``POST /broadcast/<channel>/``: our ``abroadcast``, or a plain ``group_send``."""

    async def handle(self, body: bytes) -> None:
        channel = self.scope["url_route"]["kwargs"]["channel"]
        event = json.loads(body)
        if STACK == "ours":
            await abroadcast(channel, event)
        else:
            await get_channel_layer().group_send(
                "plain." + channel, {"type": "bench.event", "data": event}
            )
        await self.send_response(200, b"{}")


@csrf_exempt
def eventstream_broadcast(request: HttpRequest, channel: str) -> HttpResponse:
    """``POST /broadcast/<channel>/`` for django-eventstream: its ``send_event``."""
    from django_eventstream import send_event

    send_event(channel, "message", json.loads(request.body))
    return HttpResponse(b"{}")


def _eventstream_urls() -> list[URLPattern | URLResolver]:
    import django_eventstream

    return [
        path("broadcast/<str:channel>/", eventstream_broadcast),
        # The documented setup, with the channel taken from the URL.
        path(
            "events/<str:channel>/",
            include(django_eventstream.urls),
            {"format-channels": ["{channel}"]},
        ),
    ]


urlpatterns: list[URLPattern | URLResolver] = (
    _eventstream_urls() if STACK == "eventstream" else []
)

application: Any
if STACK == "eventstream":
    application = get_asgi_application()
else:
    plain = [path("ws/plain/<str:channel>/", PlainConsumer.as_asgi())]
    application = ProtocolTypeRouter(
        {
            "http": URLRouter(
                [
                    path("broadcast/<str:channel>/", Broadcast.as_asgi()),
                    re_path(r"", get_asgi_application()),  # type: ignore[arg-type]
                ]
            ),
            "websocket": UserFromQuery(
                URLRouter(websocket_urlpatterns if STACK == "ours" else plain)
            ),
        }
    )
