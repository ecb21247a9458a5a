"""A project that mounts the library's ``websocket_urlpatterns`` as they come, with no Origin validator.

This is what a project following the routing docs without Channels'
``AllowedHostsOriginValidator`` serves: the library's route must refuse a
foreign Origin on its own. ``ALLOWED_HOSTS`` is ``127.0.0.1``; the user is
authenticated when the query names one (``?user=<id>``), as a session cookie
would make it in a browser.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django_stability",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ALLOWED_HOSTS=["127.0.0.1"],
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    LOGGING_CONFIG=None,
    USE_TZ=True,
)
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django_stability.realtime.routing import websocket_urlpatterns  # noqa: E402


class _QueryUser:
    def __init__(self, pk: str | None) -> None:
        self.pk = pk
        self.is_authenticated = pk is not None


class _UserFromQuery:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode())
        scope = {**scope, "user": _QueryUser(query.get("user", [None])[0])}
        return await self.inner(scope, receive, send)


application = ProtocolTypeRouter(
    {"websocket": _UserFromQuery(URLRouter(websocket_urlpatterns))}
)
