"""``OriginCheck``: a browser page on another site cannot open a user's WebSocket (see docs/realtime.rst)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings

_log = logging.getLogger("django_stability.realtime")
_DEBUG_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = list(_DEBUG_HOSTS)
    return hosts


def origin_allowed(headers: Any) -> bool:
    """Whether a handshake with these ASGI ``headers`` may go on: no Origin (not a browser), or one of ``ALLOWED_HOSTS``."""
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
