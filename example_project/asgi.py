"""ASGI entry point: ``uvicorn example_project.asgi:application`` (from the repository root).

The health probes are answered in front of everything (``with_health_probes``),
and SIGTERM drains before the server stops (``with_graceful_shutdown``): for
``DRAIN_SECONDS`` readiness answers 503 "draining" while requests are still
served, then realtime connections close with 1012 and the server finishes its
in-flight requests and exits.
Other HTTP goes to Django, except the server-sent events stream; the stream and
WebSocket connections go through Channels' routing, with the session user
resolved (``GuardedAuthMiddlewareStack``) and, for WebSockets, the Origin checked
against ``ALLOWED_HOSTS``. The routes live in ``example_project.routing``.

Only the stream is wrapped in ``AuthMiddlewareStack``: it reads the session
from the database before any Django middleware runs, so around every other
request a database outage would escape as the server's bare 500 instead of
Django's answer (a 503 problem). Around the stream and the WebSockets,
``GuardedAuthMiddlewareStack`` (Channels' stack inside an ``OutageGuard``)
turns that outage into a 503 problem with ``Retry-After`` for the stream and
a 1013 close ("try again later") for a WebSocket.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# Django must be set up (apps loaded) before anything imports models: keep this first.
django_asgi_app = get_asgi_application()

from typing import Any  # noqa: E402

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from django_stability.health import (  # noqa: E402
    with_graceful_shutdown,
    with_health_probes,
)
from django_stability.realtime import GuardedAuthMiddlewareStack  # noqa: E402
from example_project.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

_events = GuardedAuthMiddlewareStack(URLRouter(http_urlpatterns))
EVENTS_PREFIX = "/stability/events/"


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The SSE stream (it outlives a Django response) through Channels, Django for the rest."""
    app = _events if scope["path"].startswith(EVENTS_PREFIX) else django_asgi_app
    await app(scope, receive, send)


# The probes first: answered before Channels and Django (see the health docs).
# The SIGTERM handler is installed when the server first calls the application
# (its lifespan startup), after the server's own, which it chains to.
application = with_graceful_shutdown(
    with_health_probes(
        ProtocolTypeRouter(
            {
                "http": http,
                "websocket": AllowedHostsOriginValidator(
                    GuardedAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
)
