"""``OutageGuard``: a dependency outage before a realtime answer starts is a retry (503, 1013), not a bare 500."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from django_stability.correlation import (
    asgi_headers,
    correlation_scope,
    scope_correlation_id,
)
from django_stability.errors import Problem, problem_for_exception
from django_stability.errors._database import (
    DATABASE_RETRY_AFTER,
    is_connection_error,
    log_unavailable,
)
from django_stability.realtime._session import TRY_AGAIN_LATER

log = structlog.get_logger("django_stability.realtime")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Loose on purpose: Channels' applications and most others are typed loosely or not at all.
ASGIApp = Callable[..., Awaitable[object]]


class OutageGuard:
    """ASGI middleware: a 503-class failure before the response starts gets a retryable answer.

    Wrap it around ``AuthMiddlewareStack(...)`` (or use
    :func:`GuardedAuthMiddlewareStack`), for the WebSocket routes and for the
    server-sent events stream.

    Args:
        inner: The ASGI application to guard.

    .. versionadded:: 0.1
    """

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.inner(scope, receive, send)
            return
        started = False
        connected = False  # whether the inner app took the websocket.connect message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        async def guarded_receive() -> Message:
            nonlocal connected
            message = await receive()
            connected = connected or message["type"] == "websocket.connect"
            return message

        try:
            await self.inner(scope, guarded_receive, guarded_send)
            return
        except Exception as exc:
            problem = problem_for_exception(exc)
            if started or problem.status != 503:
                raise
            if is_connection_error(exc):
                log_unavailable(exc)
        if problem.retry_after is None:  # a 503 always says when to come back
            problem = dataclasses.replace(problem, retry_after=DATABASE_RETRY_AFTER)
        # The log line, the answer's headers and its body name the same ID.
        with correlation_scope(scope_correlation_id(scope)) as cid:
            log.warning(
                "realtime.unavailable",
                transport=scope["type"],
                error=problem.code,
                retry_after=problem.retry_after,
            )
            if scope["type"] == "http":
                await _answer_http(send, problem, cid)
            else:
                await _close_websocket(receive, send, problem, cid, connected=connected)


async def _answer_http(send: Send, problem: Problem, cid: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"retry-after", str(problem.retry_after).encode()),
                (b"cache-control", b"no-store"),
                *asgi_headers(cid),
            ],
        }
    )
    await send({"type": "http.response.body", "body": problem.body()})


async def _close_websocket(
    receive: Receive, send: Send, problem: Problem, cid: str, *, connected: bool
) -> None:
    if not connected and (await receive())["type"] != "websocket.connect":
        return  # the client left before its handshake was answered
    # Accept first: a close before accept reaches the browser as 1006, without the code.
    await send({"type": "websocket.accept", "headers": asgi_headers(cid)})
    frame = {
        "type": "error",
        "error": problem.code,
        "detail": problem.detail,
        "retry_after": problem.retry_after,
    }
    await send({"type": "websocket.send", "text": json.dumps(frame)})
    await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})


def GuardedAuthMiddlewareStack(inner: ASGIApp) -> OutageGuard:  # noqa: N802 - Channels' naming
    """Channels' ``AuthMiddlewareStack(inner)`` inside an :class:`OutageGuard`.

    .. versionadded:: 0.1
    """
    from channels.auth import AuthMiddlewareStack

    return OutageGuard(AuthMiddlewareStack(inner))
