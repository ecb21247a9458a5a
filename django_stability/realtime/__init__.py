"""Realtime that survives reconnects: a replay log in front of Channels.

``broadcast(channel, event)`` / ``abroadcast`` store an event in a bounded
per-channel log (Redis when ``STABILITY_REDIS_URL`` is set, process memory
otherwise) and wake subscribers through the channel layer. Subscribers,
:class:`ResilientConsumer` (WebSocket) and :class:`EventStreamConsumer` (SSE),
read the log after the last id they sent, so a wake-up the layer drops costs
latency, never an event. :class:`OutageGuard` (or
:func:`GuardedAuthMiddlewareStack`) answers a database outage met before a
consumer runs with a 503 or a 1013 close. See ``docs/realtime.rst``.

The consumers need the ``[channels]`` extra and are imported on first use.

.. versionadded:: 0.1
"""

from __future__ import annotations

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


def __getattr__(name: str) -> Any:
    if name == "ResilientConsumer":
        from django_stability.realtime._websocket import ResilientConsumer

        return ResilientConsumer
    if name == "EventStreamConsumer":
        from django_stability.realtime._sse import EventStreamConsumer

        return EventStreamConsumer
    if name in ("OutageGuard", "GuardedAuthMiddlewareStack"):
        from django_stability.realtime import _guard

        return getattr(_guard, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
