"""WebSocket routes of the example project, mounted by ``asgi.py``.

Empty for now. The realtime feature plugs in here::

    from django_stability.realtime.routing import websocket_urlpatterns as stability_ws

    websocket_urlpatterns = [*stability_ws]

(its SSE ``http_urlpatterns`` go in front of Django in ``asgi.py``'s ``"http"`` entry).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
