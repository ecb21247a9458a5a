"""``EventStreamConsumer``: the server-sent events end of the realtime layer."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import structlog
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer

from django_stability.correlation import asgi_headers
from django_stability.realtime._connection import bind_context, header, query_param
from django_stability.realtime._session import HTTP_STATUS, Refusal
from django_stability.realtime._subscriber import Subscriber

log = structlog.get_logger("django_stability.realtime")

HEADERS = [
    (b"Content-Type", b"text/event-stream; charset=utf-8"),
    (b"Cache-Control", b"no-cache"),
    # nginx (and proxies copying it) would otherwise buffer the stream.
    (b"X-Accel-Buffering", b"no"),
]


ALLOWED_METHODS = ("GET", "HEAD")
#: The answer to any other method (405 is an HTTP status, not a close code).
METHOD_NOT_ALLOWED = Refusal(
    405, "method_not_allowed", "The event stream answers GET and HEAD only."
)


class EventStreamConsumer(Subscriber, AsyncHttpConsumer):  # type: ignore[misc]
    """Stream one channel as ``text/event-stream``: replay, then live events.

    Resumes from the ``Last-Event-ID`` header (sent by browsers when they
    reconnect) or the ``last_event_id`` query parameter. Refusals are problem
    responses (400, 401, 403, 429 with ``Retry-After``) instead of close codes.
    Only GET and HEAD are answered (405 with ``Allow`` otherwise, at once); a
    request body is never read into memory. HEAD gets the stream's head only.
    The hooks are those of ``ResilientConsumer``, plus :meth:`retry_ms`.

    .. versionadded:: 0.1
    """

    transport = "sse"
    streaming = False
    answered = False
    correlation_id = ""

    def retry_ms(self) -> int:
        """The ``retry:`` hint: a random 1-5 s, so clients cut off together come back spread out.

        .. versionadded:: 0.1
        """
        return random.randint(1000, 5000)

    async def http_request(self, message: dict[str, Any]) -> None:
        # The stream is answered from the first message on: a body is never
        # read into memory (a GET has no use for one, and nobody is
        # authenticated yet), and later chunks are dropped as they come.
        if self.answered:
            return
        self.answered = True
        if self.scope.get("method") not in ALLOWED_METHODS:
            await self._refuse_method()
            raise StopConsumer()
        # AsyncHttpConsumer ends the consumer once handle() returns; a stream
        # must outlive it, so stop only when no stream was started.
        try:
            await self.handle(b"")
            if self.streaming and self.scope.get("method") == "HEAD":
                await self._end()  # the head of the stream is all HEAD asks for
                self.streaming = False
        finally:
            if not self.streaming:
                await self.disconnect()
        if not self.streaming:
            raise StopConsumer()

    async def _refuse_method(self) -> None:
        self.correlation_id = bind_context(self.scope)
        log.info("realtime.refused", code=405, error="method_not_allowed")
        allow = (b"Allow", b", ".join(m.encode() for m in ALLOWED_METHODS))
        await self._refuse(METHOD_NOT_ALLOWED, "Method Not Allowed", allow)

    async def handle(self, body: bytes) -> None:
        self.correlation_id = bind_context(self.scope)
        raw_id = header(self.scope, b"last-event-id")
        if raw_id is None:
            raw_id = query_param(self.scope, "last_event_id")
        await self.subscribe(raw_id)

    async def _begin(self) -> None:
        self.streaming = True
        await self.send_headers(
            status=200, headers=[*HEADERS, *asgi_headers(self.correlation_id)]
        )
        await self._write(f"retry: {self.retry_ms()}\n\n")

    async def _send_subscribed(self, payload: dict[str, Any]) -> None:
        await self._write(f"event: subscribed\ndata: {json.dumps(payload)}\n\n")

    async def _refuse(
        self, refusal: Refusal, title: str = "", *extra: tuple[bytes, bytes]
    ) -> None:
        """Answer ``refusal`` as a problem+json response (its close code's HTTP status)."""
        status = HTTP_STATUS.get(refusal.code, refusal.code)
        problem = {
            "type": "about:blank",
            "title": title or refusal.error.replace("_", " "),
            "status": status,
            "detail": refusal.detail,
            "code": refusal.error,
            "correlation_id": self.correlation_id,
        }
        headers = [
            (b"Content-Type", b"application/problem+json"),
            (b"Cache-Control", b"no-store"),
            *extra,
            *asgi_headers(self.correlation_id),
        ]
        if refusal.retry_after is not None:
            retry = str(max(1, round(refusal.retry_after + 0.499)))
            headers.append((b"Retry-After", retry.encode()))
        await self.send_response(status, json.dumps(problem).encode(), headers=headers)

    async def _write(self, text: str) -> None:
        await self.send_body(text.encode(), more_body=True)

    async def _send_reset(self, since: int) -> None:
        assert self.session is not None
        payload = {"channel": self.session.channel, "last_event_id": since}
        await self._write(f"event: reset\nid: {since}\ndata: {json.dumps(payload)}\n\n")

    async def _send_events(self, events: list[tuple[int, str]]) -> None:
        if events:
            await self._write(
                "".join(f"id: {eid}\ndata: {data}\n\n" for eid, data in events)
            )

    async def tick(self) -> None:
        """One keep-alive: renew the slot, send a comment, poll the log.

        .. versionadded:: 0.1
        """
        if self.session is None:
            return
        await self.session.renew()
        async with self.session.lock:
            await self._write(": keep-alive\n\n")
        await self.catch_up()

    def _last_message(self) -> dict[str, Any]:
        return {"type": "http.response.body", "body": b"", "more_body": False}

    def restart_soon(self) -> None:
        """End the stream (called on this consumer's loop when shutdown starts)."""
        self._restart = asyncio.ensure_future(self._end())

    async def _end(self) -> None:
        await self.send_body(b"", more_body=False)
        await self.disconnect()

    async def disconnect(self) -> None:
        if await self.stop():
            log.info("realtime.disconnected")
