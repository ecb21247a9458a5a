"""Realtime routes of the example project, mounted by ``asgi.py``.

``websocket_urlpatterns`` serve ``ws/stability/events/<channel>/`` (the
WebSocket consumer); ``http_urlpatterns`` serve ``stability/events/<channel>/``
(server-sent events) in front of Django.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from django_stability.realtime.routing import http_urlpatterns as stability_http
from django_stability.realtime.routing import websocket_urlpatterns as stability_ws

websocket_urlpatterns: list[URLPattern | URLResolver] = [*stability_ws]
http_urlpatterns: list[URLPattern | URLResolver] = [*stability_http]
