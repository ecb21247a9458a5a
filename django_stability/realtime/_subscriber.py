"""What both consumers do once a subscriber is admitted: replay, catch up, heartbeats, cleanup.

Each consumer supplies how a reset and events are written (JSON frames or SSE
lines) and what one heartbeat does; the reading of the log, the locking that
keeps ids in order and the cleanup are here, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import structlog
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from django_stability import metrics
from django_stability.conf import conf
from django_stability.correlation import scope_correlation_id, set_correlation_id
from django_stability.realtime import _policy, _session, _shutdown
from django_stability.realtime._log import Replay
from django_stability.realtime._session import Session
from django_stability.state import StateUnavailable

log = structlog.get_logger("django_stability.realtime")


def header(scope: dict[str, Any], name: bytes) -> str | None:
    """The first value of header ``name`` (lower case) in an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def url_channel(scope: dict[str, Any]) -> object:
    """The ``channel`` URL kwarg of the route (not yet validated)."""
    return scope.get("url_route", {}).get("kwargs", {}).get("channel")


def bind_context(scope: dict[str, Any]) -> str:
    """Bind the correlation ID, user and channel into this task's log lines; return the ID.

    The ID is the first valid one among the ``STABILITY_CORRELATION_HEADERS``
    of the request, as for HTTP requests, or a new one.
    """
    user: Any = scope.get("user")
    channel = url_channel(scope)
    cid = scope_correlation_id(scope)
    set_correlation_id(cid)
    user_id = str(user.pk) if getattr(user, "is_authenticated", False) else None
    structlog.contextvars.bind_contextvars(
        user_id=user_id, realtime_channel=str(channel)[:200]
    )
    return cid


class TooSlow(Exception):
    """The client did not take a message within ``SEND_TIMEOUT``: it is dropped."""


class Subscriber:
    """Mixin for the consumers; see ``ResilientConsumer`` for the public hooks."""

    clock = staticmethod(time.time)
    transport = ""
    session: Session | None = None
    ticker: asyncio.Task[None] | None = None
    channel_layer: Any
    channel_layer_alias: str
    scope: dict[str, Any]
    dropped = False
    #: The connection ends on an error of the server's (closed with 1011, not 4408).
    failed = False
    _sent = False
    _main: asyncio.Task[Any] | None = None
    _raw_send: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one connection: every message from the client, every send bounded in time.

        Channels' own loop would also listen on a layer channel of this
        consumer's, which the realtime layer never uses (the process's hub
        receives the wake-ups): with channels-redis, a lost Redis connection
        crashed every consumer through it. Here only the client is listened to.
        """
        self.scope = scope
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

    def send_timeout(self) -> float:
        """Seconds one message may wait for the client to take it (``SEND_TIMEOUT``)."""
        if self.session is not None:
            return self.session.options.send_timeout
        return float(conf.realtime_option("SEND_TIMEOUT"))

    async def _bounded_send(self, message: dict[str, Any]) -> None:
        if self.dropped:
            raise TooSlow("the client was dropped")
        self._sent = True
        try:
            async with asyncio.timeout(self.send_timeout()):
                await self._raw_send(message)
        except TimeoutError:
            self._drop()
            raise TooSlow(f"no send completed in {self.send_timeout()} s") from None

    def _drop(self) -> None:
        """End this connection from whichever task found the client too slow."""
        if self.dropped:
            return
        self.dropped = True
        log.info("realtime.too_slow", send_timeout=self.send_timeout())
        metrics.realtime_dropped.labels(self.transport).inc()
        main = self._main
        if main is not None and main is not asyncio.current_task():
            main.cancel()

    def _last_message(self) -> dict[str, Any]:  # pragma: no cover - always overridden
        """What ends the connection on the transport's terms (a close frame, the stream's end)."""
        raise NotImplementedError

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

    def can_subscribe(self, user: Any, channel: str) -> bool | Awaitable[bool]:
        """Whether ``user`` (authenticated) may subscribe to ``channel``.

        The default applies ``STABILITY_REALTIME["CHANNELS"]``: the rule of the
        first pattern matching the channel decides, and a channel no pattern
        matches is refused (deny by default). Override it for rules of your
        own; it may also be a coroutine function (use
        ``database_sync_to_async`` for ORM queries).

        Args:
            user: ``scope["user"]``, already known to be authenticated.
            channel: The validated channel name.

        .. versionadded:: 0.1
        """
        return _policy.allowed(user, channel)

    async def ticks(self) -> AsyncIterator[None]:
        """Yield whenever a heartbeat is due: every ``HEARTBEAT`` seconds.

        .. versionadded:: 0.1
        """
        assert self.session is not None
        while True:
            await asyncio.sleep(self.session.options.heartbeat)
            yield

    # Each consumer writes these four for its transport.

    async def tick(self) -> None:  # pragma: no cover - always overridden
        """One heartbeat."""
        raise NotImplementedError

    async def _send_reset(
        self, since: int
    ) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    async def _send_subscribed(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    async def _send_events(  # pragma: no cover - always overridden
        self, events: list[tuple[int, str]], *, replayed: bool = False
    ) -> None:
        raise NotImplementedError

    def restart_soon(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    async def _refuse(  # pragma: no cover - always overridden
        self, refusal: _session.Refusal
    ) -> None:
        raise NotImplementedError

    async def subscribe(self, raw_id: str | None) -> None:
        """Admit the client to its URL's channel from ``raw_id``, replay and start; or refuse it.

        A refusal of admission (bad channel or id, anonymous, not allowed,
        over a limit) and a log that cannot be read are told the client the
        transport's way (a close code, a problem response).
        """
        session, refusal, last_id = await _session.admit(
            url_channel(self.scope),
            raw_id,
            self.scope.get("user"),
            self.can_subscribe,
            self.clock,
        )
        if refusal is None:
            assert session is not None
            replay = await self.start(session, last_id)
            if replay is not None:
                self.started(replay)
                return
            refusal = _session.LOG_UNAVAILABLE
        await self._refuse(refusal)

    async def _begin(self) -> None:
        """Open the stream, once the first log read succeeded (SSE sends its headers here)."""

    async def start(self, session: Session, last_id: int | None) -> Replay | None:
        """Count, register and join ``session``, then send its replay (or reset) and ``subscribed``.

        ``None`` when the log cannot be read (Redis unreachable): nothing was
        sent, the session is stopped again, and the caller refuses the client
        with ``LOG_UNAVAILABLE`` so that it comes back with the same id.
        """
        self.session = session
        metrics.realtime_connections.labels(self.transport).inc()
        _shutdown.register(self)
        replay: Replay | None = None
        # The lock is taken before joining: a wake-up the hub hands over
        # while the replay is read waits for it, and then finds its id sent.
        async with session.lock:
            await _session.join(self.channel_layer, session, self)
            try:
                replay = await session.read(last_id)
            except StateUnavailable as exc:
                log.info("realtime.log_unavailable", error=str(exc))
            else:
                await self._begin()
                if replay.reset:
                    await self._send_reset(replay.since)
                await self._send_events(replay.events, replayed=True)
                await self._send_subscribed()
        if replay is None:
            await self.stop()
        return replay

    def started(self, replay: Replay) -> None:
        """Log the subscription and start the heartbeats."""
        log.info("realtime.subscribed", replayed=len(replay.events), reset=replay.reset)
        self.ticker = asyncio.create_task(self._tick_loop())

    async def catch_up(self, upto: int | None = None) -> None:
        """Send whatever the log holds after the last id sent (a reset if it lost some).

        With ``upto`` (a wake-up's id), events this process already read serve it.
        While the log cannot be read this sends nothing and keeps the last id.
        """
        session = self.session
        if session is None:
            return
        async with session.lock:
            try:
                if upto is None:
                    replay = await session.read(session.last_id)
                elif upto <= session.last_id:
                    return  # an earlier catch-up already sent it
                else:
                    replay = await session.read_upto(upto)
            except StateUnavailable:
                # Redis is unreachable: keep the last id, the next wake-up or
                # heartbeat after the outage resumes from it.
                log.debug("realtime.catch_up_deferred")
                return
            if replay.reset:
                # The log was lost (or outran this subscriber); when Redis lost
                # its data, this process's wake-up membership went with it.
                await _session.rejoin(self.channel_layer, session)
                await self._send_reset(replay.since)
            await self._send_events(replay.events)

    async def stability_wakeup(self, message: dict[str, Any]) -> None:
        """A broadcast woke us up: read the log unless we already sent that id.

        A wake-up with ``catch_up`` (the hub's, after the layer failed) renews
        the slot and reads the log after the last id sent, whatever it holds.
        """
        upto = None if message.get("catch_up") else message.get("id", 0)
        if upto is None and self.session is not None:
            # Redis may have come back empty: hold the slot again now, not at
            # the next heartbeat, so the per-user cap counts this connection.
            try:
                await self.session.renew()
            except Exception as exc:
                log.info("realtime.renew_failed", error=repr(exc))
        if self.session is not None and (upto is None or upto > self.session.last_id):
            try:
                await self.catch_up(upto)
            except Exception as exc:
                # The client left and its disconnect is still queued behind
                # this wake-up: sending fails, and must not kill the consumer
                # before disconnect() frees the slot.
                log.info("realtime.send_failed", error=repr(exc))

    async def _tick_loop(self) -> None:
        async for _ in self.ticks():
            try:
                await self.tick()
                if self.session is not None:
                    await _session.refresh(self.channel_layer, self.session)
            except TooSlow:
                return  # the connection is being closed
            except Exception as exc:
                # One failed beat (Redis or the layer out for a moment) must not
                # end the heartbeats; a client that left is stopped by its
                # disconnect, which cancels this loop.
                log.info("realtime.heartbeat_failed", error=repr(exc))

    async def stop(self) -> bool:
        """Stop heartbeats, free the slot, leave the group; ``False`` if there was no session."""
        ticker = self.ticker
        if ticker is not None and ticker is not asyncio.current_task():
            ticker.cancel()
            # Let it finish now, inside this connection's lifetime; wait()
            # does not raise the ticker's CancelledError, only our own.
            await asyncio.wait([ticker])
        session = self.session
        if session is None:
            return False
        self.session = None
        _shutdown.unregister(self)
        metrics.realtime_connections.labels(self.transport).dec()
        await _session.leave(self.channel_layer, session, self)
        return True
