"""Routes for the realtime consumers, to mount in the project's ASGI application.

``websocket_urlpatterns`` go in the ``"websocket"`` entry of a
``ProtocolTypeRouter`` (inside ``AuthMiddlewareStack``), ``http_urlpatterns``
in front of Django in its ``"http"`` entry. See ``docs/realtime.rst``.

The WebSocket route checks the handshake's ``Origin`` against
``ALLOWED_HOSTS`` itself (:class:`~django_stability.realtime._origin.OriginCheck`):
a page on another site cannot open a logged-in user's connection, whether or
not the project adds Channels' ``AllowedHostsOriginValidator``.

.. versionadded:: 0.1
"""

from __future__ import annotations

from django.urls import URLPattern, path

from django_stability.realtime._origin import OriginCheck
from django_stability.realtime._sse import EventStreamConsumer
from django_stability.realtime._websocket import ResilientConsumer

websocket_urlpatterns: list[URLPattern] = [
    path(
        "ws/stability/events/<str:channel>/",
        OriginCheck(ResilientConsumer.as_asgi()),
    ),
]
http_urlpatterns: list[URLPattern] = [
    path("stability/events/<str:channel>/", EventStreamConsumer.as_asgi()),
]
