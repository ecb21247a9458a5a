"""Routes for the realtime consumers, to mount in the project's ASGI application (see ``docs/realtime.rst``).

The WebSocket route checks the handshake's ``Origin`` against ``ALLOWED_HOSTS`` itself.

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
