"""``ResilientConsumer``: the WebSocket end of the realtime layer (JSON messages)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from django_stability.correlation import asgi_headers
from django_stability.realtime._connection import bind_context, query_param
from django_stability.realtime._session import HEARTBEAT_TIMEOUT, RESTARTING, Refusal
from django_stability.realtime._subscriber import Subscriber

log = structlog.get_logger("django_stability.realtime")

#: RFC 6455's "Internal Error": the server failed while serving the connection.
INTERNAL_ERROR = 1011


class ResilientConsumer(Subscriber, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Subscribe a WebSocket to one channel: replay what it missed, then live events.

    Route it with ``channel`` in the URL kwargs (see
    ``django_stability.realtime.routing``); the client may pass
    ``?last_event_id=N`` to resume. Messages are described in ``docs/realtime.rst``.

    Hooks: :meth:`can_subscribe` restricts channels; ``clock`` (seconds) and
    :meth:`ticks` (when heartbeats are due) let tests drive time, and
    :meth:`tick` performs one heartbeat.

    .. versionadded:: 0.1
    """

    transport = "websocket"
    #: Heartbeats sent since the client last sent anything: at two, the next beat drops it.
    unanswered = 0

    async def connect(self) -> None:
        cid = bind_context(self.scope)
        # Accept first: a close before accept reaches the browser as 1006,
        # losing the code that tells the client what to do. The handshake's
        # answer carries the correlation and version headers, as HTTP ones do.
        await self.accept(headers=asgi_headers(cid))
        await self.subscribe(query_param(self.scope, "last_event_id"))

    async def _send_subscribed(self, payload: dict[str, Any]) -> None:
        assert self.session is not None
        heartbeat = self.session.config.heartbeat
        await self.send_json({"type": "subscribed", **payload, "heartbeat": heartbeat})

    async def _refuse(self, refusal: Refusal) -> None:
        retry = (
            {} if refusal.retry_after is None else {"retry_after": refusal.retry_after}
        )
        await self._error(refusal.error, refusal.detail, **retry)
        await self.close(code=refusal.code)

    async def _send_reset(self, since: int) -> None:
        assert self.session is not None
        await self.send_json(
            {"type": "reset", "channel": self.session.channel, "last_event_id": since}
        )

    async def _send_events(self, events: list[tuple[int, str]]) -> None:
        assert self.session is not None
        channel = self.session.channel_json
        for eid, data in events:
            await self.send(
                text_data=f'{{"type":"event","channel":{channel},"id":{eid},"data":{data}}}'
            )

    async def tick(self) -> None:
        """One heartbeat: drop a silent client, else renew the slot, ping and poll the log.

        .. versionadded:: 0.1
        """
        if self.session is None:
            return
        if self.unanswered >= 2:
            log.info("realtime.heartbeat_timeout")
            await self.close(code=HEARTBEAT_TIMEOUT)
            return
        self.unanswered += 1
        await self.session.renew()
        await self.send_json({"type": "heartbeat"})
        await self.catch_up()

    def _last_message(self) -> dict[str, Any]:
        code = INTERNAL_ERROR if self.failed else HEARTBEAT_TIMEOUT
        return {"type": "websocket.close", "code": code}

    def restart_soon(self) -> None:
        """Close with 1012 (called on this consumer's loop when shutdown starts)."""
        self._restart = asyncio.ensure_future(self.close(code=RESTARTING))

    async def receive(
        self,
        text_data: str | None = None,
        bytes_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        self.unanswered = 0
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

    async def _error(self, error: str, detail: str, **extra: float) -> None:
        await self.send_json(
            {"type": "error", "error": error, "detail": detail, **extra}
        )

    async def disconnect(self, code: int) -> None:
        if await self.stop():
            log.info("realtime.disconnected", code=code)
