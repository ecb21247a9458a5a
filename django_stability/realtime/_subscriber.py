"""What both consumers do once a client is connected: admission, replay, catch-up, heartbeats, cleanup."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog

from django_stability import metrics
from django_stability.app_version import app_version
from django_stability.realtime import _policy, _session, _shutdown
from django_stability.realtime._connection import Connection, TooSlow, url_channel
from django_stability.realtime._hub import Hub, hub_for, quietly
from django_stability.realtime._log import Replay
from django_stability.realtime._session import Refusal, Session
from django_stability.state import StateUnavailable

log = structlog.get_logger("django_stability.realtime")


class Subscriber(Connection):
    """Mixin for the consumers; see ``ResilientConsumer`` for the public hooks."""

    clock = staticmethod(time.time)
    session: Session | None = None
    ticker: asyncio.Task[None] | None = None

    # Each consumer writes these for its transport.
    tick: Callable[[], Awaitable[None]]
    restart_soon: Callable[[], None]
    _refuse: Callable[[Refusal], Awaitable[None]]
    _send_reset: Callable[[int], Awaitable[None]]
    _send_subscribed: Callable[[dict[str, Any]], Awaitable[None]]
    _send_events: Callable[[list[tuple[int, str]]], Awaitable[None]]

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
            await asyncio.sleep(self.session.config.heartbeat)
            yield

    async def _hub(self, step: Callable[[Hub], Awaitable[None]], what: str) -> None:
        """Run ``step`` on this process's hub (none without a channel layer); a failure is only logged."""
        if self.channel_layer is not None:
            await quietly(step(hub_for(self.channel_layer)), what)

    async def subscribe(self, raw_id: str | None) -> None:
        """Admit the client to its URL's channel from ``raw_id``, replay and start; or refuse it the transport's way."""
        session, refusal, last_id = await _session.admit(
            url_channel(self.scope),
            raw_id,
            self.scope.get("user"),
            self.can_subscribe,
            self.config,
            self.clock,
        )
        if session is not None:
            if await self._start(session, last_id):
                self.ticker = asyncio.create_task(self._tick_loop())
                return
            refusal = _session.LOG_UNAVAILABLE  # come back with the same id
        assert refusal is not None
        log.info("realtime.refused", code=refusal.code, error=refusal.error)
        await self._refuse(refusal)

    async def _begin(self) -> None:
        """Open the stream, once the first log read succeeded (SSE sends its headers here)."""

    async def _start(self, session: Session, last_id: int | None) -> bool:
        """Count, register and join ``session``, send its replay and ``subscribed``; ``False`` (stopped) if the log is unreadable."""
        self.session = session
        metrics.realtime_connections.labels(self.transport).inc()
        _shutdown.register(self)
        replay: Replay | None = None
        # The lock is taken before joining: a wake-up the hub hands over
        # while the replay is read waits for it, and then finds its id sent.
        async with session.lock:
            await self._hub(
                lambda hub: hub.join(session.group, self), "join the wake-up group"
            )
            try:
                replay = await session.read(last_id)
            except StateUnavailable as exc:
                log.info("realtime.log_unavailable", error=str(exc))
            else:
                await self._begin()
                if replay.reset:
                    await self._send_reset(replay.since)
                await self._send_events(replay.events)
                replayed = len(replay.events)
                if replayed:
                    metrics.realtime_replayed.labels(self.transport).inc(replayed)
                await self._send_subscribed(
                    {
                        "channel": session.channel,
                        "last_event_id": session.last_id,
                        "version": app_version(),
                    }
                )
                log.info("realtime.subscribed", replayed=replayed, reset=replay.reset)
        if replay is None:
            await self.stop()
        return replay is not None

    async def catch_up(self, upto: int | None = None) -> None:
        """Send what the log holds after the last id sent (a reset if it lost some), up to ``upto`` from kept events."""
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
                await self._hub(
                    lambda hub: hub.rejoin(session.group), "rejoin the wake-up group"
                )
                await self._send_reset(replay.since)
            await self._send_events(replay.events)

    async def stability_wakeup(self, message: dict[str, Any]) -> None:
        """A broadcast woke us up: read the log unless that id was sent; the hub's ``catch_up`` also renews the slot."""
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
                if (session := self.session) is not None:
                    renew = functools.partial(Hub.refresh, group=session.group)
                    await self._hub(renew, "renew the wake-up group")
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
        await quietly(session.release(), "free the connection slot")
        await self._hub(
            lambda hub: hub.leave(session.group, self), "leave the wake-up group"
        )
        return True
