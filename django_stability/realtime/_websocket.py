"""``ResilientConsumer``: the WebSocket end of the realtime layer (JSON messages)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import structlog
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from django_stability import metrics
from django_stability.correlation import (
    is_valid_correlation_id,
    new_correlation_id,
    set_correlation_id,
)
from django_stability.realtime import _session, _shutdown
from django_stability.realtime._session import Heartbeat, Refusal, Session

log = structlog.get_logger("django_stability.realtime")


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def bind_context(scope: dict[str, Any], user: Any, channel: object) -> None:
    """Bind the correlation ID (the client's, if valid) and the user into this task's log lines."""
    cid = _header(scope, b"x-correlation-id")
    set_correlation_id(cid if is_valid_correlation_id(cid) else new_correlation_id())
    user_id = str(user.pk) if getattr(user, "is_authenticated", False) else None
    structlog.contextvars.bind_contextvars(
        user_id=user_id, realtime_channel=str(channel)[:200]
    )


class ResilientConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Subscribe a WebSocket to one channel: replay what it missed, then live events.

    Route it with ``channel`` in the URL kwargs (see
    ``django_stability.realtime.routing``); the client may pass
    ``?last_event_id=N`` to resume. Messages are described in ``docs/realtime.rst``.

    Override :meth:`can_subscribe` to restrict channels. ``clock`` (seconds)
    and :meth:`ticks` (when heartbeats are due) exist so tests can drive time.

    .. versionadded:: 0.1
    """

    clock = staticmethod(time.time)
    transport = "websocket"
    session: Session | None = None
    ticker: asyncio.Task[None] | None = None

    def can_subscribe(self, user: Any, channel: str) -> bool:
        """Whether ``user`` (authenticated) may subscribe to ``channel``.

        The default lets every authenticated user subscribe to every channel.
        It may also be a coroutine function (use ``database_sync_to_async``
        for ORM queries).

        Args:
            user: ``scope["user"]``, already known to be authenticated.
            channel: The validated channel name.

        .. versionadded:: 0.1
        """
        return True

    async def ticks(self) -> AsyncIterator[None]:
        """Yield whenever a heartbeat is due: every ``HEARTBEAT`` seconds."""
        assert self.session is not None
        while True:
            await asyncio.sleep(self.session.options.heartbeat)
            yield

    async def connect(self) -> None:
        self.heartbeat = Heartbeat()
        kwargs = self.scope.get("url_route", {}).get("kwargs", {})
        user = self.scope.get("user")
        bind_context(self.scope, user, kwargs.get("channel"))
        # Accept first: a close before accept reaches the browser as 1006,
        # losing the code that tells the client what to do.
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        raw_id = query.get("last_event_id", [None])[-1]
        session, refusal, last_id = await _session.admit(
            kwargs.get("channel"), raw_id, user, self.can_subscribe, self.clock
        )
        if refusal is not None:
            await self._refuse(refusal)
            return
        assert session is not None
        self.session = session
        metrics.realtime_connections.labels(self.transport).inc()
        _shutdown.register(self)
        await _session.join(self.channel_layer, session, self.channel_name)
        async with session.lock:
            replay = await session.read(last_id)
            if replay.reset:
                await self._send_reset()
            await self._send_events(replay.events, replayed=True)
        await self.send_json(
            {
                "type": "subscribed",
                "channel": session.channel,
                "last_event_id": session.last_id,
                "heartbeat": session.options.heartbeat,
            }
        )
        log.info("realtime.subscribed", replayed=len(replay.events), reset=replay.reset)
        self.ticker = asyncio.create_task(self._tick_loop())

    async def _refuse(self, refusal: Refusal) -> None:
        log.info("realtime.refused", code=refusal.code, error=refusal.error)
        message: dict[str, Any] = {
            "type": "error",
            "error": refusal.error,
            "detail": refusal.detail,
        }
        if refusal.retry_after is not None:
            message["retry_after"] = refusal.retry_after
        await self.send_json(message)
        await self.close(code=refusal.code)

    async def _send_reset(self) -> None:
        assert self.session is not None
        await self.send_json(
            {
                "type": "reset",
                "channel": self.session.channel,
                "last_event_id": self.session.last_id,
            }
        )

    async def _send_events(
        self, events: list[tuple[int, str]], *, replayed: bool = False
    ) -> None:
        assert self.session is not None
        channel = json.dumps(self.session.channel)
        for eid, data in events:
            await self.send(
                text_data=f'{{"type":"event","channel":{channel},"id":{eid},"data":{data}}}'
            )
        if replayed and events:
            metrics.realtime_replayed.labels(self.transport).inc(len(events))

    async def catch_up(self) -> None:
        """Send whatever the log holds after the last id sent (a reset if it lost some)."""
        session = self.session
        if session is None:
            return
        async with session.lock:
            replay = await session.read(session.last_id)
            if replay.reset:
                await self._send_reset()
            await self._send_events(replay.events)

    async def stability_wakeup(self, message: dict[str, Any]) -> None:
        """A broadcast woke us up: read the log unless we already sent that id."""
        if self.session is not None and message.get("id", 0) > self.session.last_id:
            try:
                await self.catch_up()
            except Exception as exc:
                # The client left and its disconnect is still queued behind
                # this wake-up: sending fails, and must not kill the consumer
                # before disconnect() frees the slot.
                log.info("realtime.send_failed", error=repr(exc))

    async def tick(self) -> None:
        """One heartbeat: drop a silent client, else renew the slot, ping and poll the log."""
        if self.session is None:
            return
        if not self.heartbeat.beat():
            log.info("realtime.heartbeat_timeout")
            await self.close(code=_session.HEARTBEAT_TIMEOUT)
            return
        await self.session.renew()
        await self.send_json({"type": "heartbeat"})
        await self.catch_up()

    async def _tick_loop(self) -> None:
        try:
            async for _ in self.ticks():
                await self.tick()
        except Exception as exc:  # the client left under us; disconnect() cleans up
            log.info("realtime.heartbeat_stopped", error=repr(exc))

    def restart_soon(self) -> None:
        """Close with 1012 (called on this consumer's loop when shutdown starts)."""
        self._restart = asyncio.ensure_future(self.close(code=_session.RESTARTING))

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        self.heartbeat.heard()
        if text_data is None:
            await self._error("invalid_message", "send JSON text frames, not binary")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self._error("invalid_json", "the frame is not JSON")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self._error("invalid_message", "a message is a JSON object")
        elif content.get("type") != "heartbeat":
            await self._error("unknown_type", "the only client message is heartbeat")

    async def _error(self, error: str, detail: str) -> None:
        await self.send_json({"type": "error", "error": error, "detail": detail})

    async def disconnect(self, code: int) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        session = self.session
        if session is None:
            return
        self.session = None
        _shutdown.unregister(self)
        metrics.realtime_connections.labels(self.transport).dec()
        await _session.leave(self.channel_layer, session, self.channel_name)
        log.info("realtime.disconnected", code=code)
