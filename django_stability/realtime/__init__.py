"""Realtime that survives reconnects: a replay log in front of Channels.

``broadcast`` / ``abroadcast`` store an event in its channel's replay log and
wake the subscribers, :class:`ResilientConsumer` (WebSocket) and
:class:`EventStreamConsumer` (SSE; both need the ``[channels]`` extra);
:class:`OutageGuard` answers a database outage met before a consumer runs.
See ``docs/realtime.rst``.

.. versionadded:: 0.1
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from django_stability.realtime._broadcast import abroadcast, broadcast

if TYPE_CHECKING:
    from django_stability.realtime._guard import GuardedAuthMiddlewareStack, OutageGuard
    from django_stability.realtime._sse import EventStreamConsumer
    from django_stability.realtime._websocket import ResilientConsumer

__all__ = [
    "EventStreamConsumer",
    "GuardedAuthMiddlewareStack",
    "OutageGuard",
    "ResilientConsumer",
    "abroadcast",
    "broadcast",
]


# The consumers need Channels: imported on first use.
_LAZY = {
    "ResilientConsumer": "_websocket",
    "EventStreamConsumer": "_sse",
    "OutageGuard": "_guard",
    "GuardedAuthMiddlewareStack": "_guard",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
