"""``OriginCheck``: a browser page on another site cannot open a user's WebSocket.

Browsers send the session cookie with a WebSocket handshake whatever page
opens it, and the same-origin policy does not apply to WebSockets: without an
Origin check, any site a logged-in user visits could subscribe to their
channels (cross-site WebSocket hijacking). So the library's own
``websocket_urlpatterns`` check the ``Origin`` header themselves, rather than
rely on every project wrapping them in Channels' ``AllowedHostsOriginValidator``.

The rule is Channels' ``AllowedHostsOriginValidator`` (``ALLOWED_HOSTS``, with
``localhost``, ``127.0.0.1`` and ``[::1]`` when ``DEBUG`` is on and
``ALLOWED_HOSTS`` is empty; a leading dot matches subdomains, ``*`` anything),
read on every handshake, with one difference: a handshake *without* an
``Origin`` header is let through. Browsers always send one on a WebSocket
handshake, so its absence means a non-browser client (a command-line tool, a
mobile app, a server), which could forge any Origin anyway; the check exists
for browsers. ``Origin: null`` (a sandboxed or opaque origin) is refused.
A refused handshake gets HTTP 403 and never reaches the consumer.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

__all__ = ["OriginCheck", "origin_allowed"]

_log = logging.getLogger("django_stability.realtime")
_DEBUG_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = list(_DEBUG_HOSTS)
    return hosts


def origin_allowed(headers: Any) -> bool:
    """Whether a handshake with these ASGI ``headers`` may go on (see the module docstring)."""
    origins = [value for name, value in headers if name.lower() == b"origin"]
    if not origins:
        return True
    if len(origins) > 1:  # which one would a validator read? refuse the ambiguity
        return False
    try:
        parsed = urlparse(origins[0].decode("latin-1").strip())
    except ValueError:
        return False
    validator = OriginValidator(None, _allowed_hosts())
    return bool(validator.validate_origin(parsed))


class OriginCheck:
    """Refuse (HTTP 403) a WebSocket handshake whose ``Origin`` is not one of ``ALLOWED_HOSTS``.

    Args:
        application: The ASGI application (a consumer) to protect.

    .. versionadded:: 0.2
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(
            scope.get("headers", ())
        ):
            _log.warning(
                "websocket handshake refused: Origin not in ALLOWED_HOSTS (path %s)",
                scope.get("path", ""),
            )
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
