"""One client connection: every message from the client, every send to it bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import structlog
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from django_stability import metrics
from django_stability.correlation import scope_correlation_id, set_correlation_id
from django_stability.realtime._settings import RealtimeConfig, realtime_config

log = structlog.get_logger("django_stability.realtime")


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower case) in an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def query_param(scope: dict[str, Any], name: str) -> str | None:
    """The last value of query parameter ``name`` in an ASGI scope."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[-1] if values else None


def url_channel(scope: dict[str, Any]) -> object:
    """The ``channel`` URL kwarg of the route (not yet validated)."""
    return scope.get("url_route", {}).get("kwargs", {}).get("channel")


def bind_context(scope: dict[str, Any]) -> str:
    """Bind the correlation ID (the request's, as for HTTP, or a new one), user and channel into log lines; return the ID."""
    user: Any = scope.get("user")
    cid = scope_correlation_id(scope)
    set_correlation_id(cid)
    user_id = str(user.pk) if getattr(user, "is_authenticated", False) else None
    structlog.contextvars.bind_contextvars(
        user_id=user_id, realtime_channel=str(url_channel(scope))[:200]
    )
    return cid


class TooSlow(Exception):
    """The client did not take a message within ``SEND_TIMEOUT``: it is dropped."""


class Connection:
    """Consumer mixin: the ASGI loop, listening to the client only, with bounded sends."""

    transport = ""
    config: RealtimeConfig
    channel_layer: Any
    channel_layer_alias: str
    scope: dict[str, Any]
    dropped = False
    #: The connection ends on an error of the server's (closed with 1011, not 4408).
    failed = False
    _sent = False
    _main: asyncio.Task[Any] | None = None
    _raw_send: Any = None
    # Written by the subclasses: free what the connection holds (False: nothing),
    # and the message that ends it on the transport's terms.
    stop: Callable[[], Awaitable[bool]]
    _last_message: Callable[[], dict[str, Any]]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one connection (Channels' loop would also listen on a layer channel, unused here)."""
        self.scope = scope
        self.config = realtime_config()
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self._raw_send = send
        self.base_send = self._bounded_send
        self._main = asyncio.current_task()
        try:
            while True:
                await self.dispatch(await receive())  # type: ignore[attr-defined]
        except (StopConsumer, TooSlow):
            pass
        except asyncio.CancelledError:
            if not self.dropped:
                raise
            if self._main is not None:
                self._main.uncancel()
        except Exception:
            if not self._sent:
                raise  # nothing answered yet: OutageGuard (or the server) answers
            # The connection is open: end it cleanly rather than as an ASGI
            # exception and a drop without a close frame.
            log.exception("realtime.consumer_failed")
            self.dropped = self.failed = True
        finally:
            if self.dropped:
                await self._after_drop()
            else:
                await self.stop()  # whatever ended it, no gauge or slot stays behind

    async def _bounded_send(self, message: dict[str, Any]) -> None:
        if self.dropped:
            raise TooSlow("the client was dropped")
        self._sent = True
        try:
            async with asyncio.timeout(self.config.send_timeout):
                await self._raw_send(message)
        except TimeoutError:
            self._drop()
            raise TooSlow(
                f"no send completed in {self.config.send_timeout} s"
            ) from None

    def _drop(self) -> None:
        """End this connection from whichever task found the client too slow."""
        if self.dropped:
            return
        self.dropped = True
        log.info("realtime.too_slow", send_timeout=self.config.send_timeout)
        metrics.realtime_dropped.labels(self.transport).inc()
        main = self._main
        if main is not None and main is not asyncio.current_task():
            main.cancel()

    async def _after_drop(self) -> None:
        """Free the slot and the gauge at once; say goodbye only if the client takes it quickly."""
        await self.stop()
        try:
            async with asyncio.timeout(1):
                await self._raw_send(self._last_message())
        except (
            Exception
        ):  # the client still reads nothing: the server closes the socket
            log.debug("realtime.goodbye_not_sent")
