"""ASGI entry point: ``uvicorn example_project.asgi:application`` (from the repository root).

The health probes are answered in front of everything (``with_health_probes``);
other HTTP goes to Django, except the server-sent events stream; WebSocket connections go through Channels' routing, with the
session user resolved (``AuthMiddlewareStack``) and the Origin checked against
``ALLOWED_HOSTS``. The routes live in ``example_project.routing``.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

# Django must be set up (apps loaded) before anything imports models: keep this first.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from django_stability.health import with_health_probes  # noqa: E402
from example_project.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

# The probes first: answered before Channels and Django (see the health docs).
application = with_health_probes(
    ProtocolTypeRouter(
        {
            # The SSE stream first (it outlives a Django response), Django for the rest.
            "http": AuthMiddlewareStack(
                URLRouter([*http_urlpatterns, re_path(r"", django_asgi_app)])  # type: ignore[arg-type]  # an ASGI app, which Channels routes
            ),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
