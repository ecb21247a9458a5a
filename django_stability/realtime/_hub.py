"""One channel-layer membership per process and channel: wake-ups fanned out in process."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django_stability.realtime._recent import recent
from django_stability.realtime._settings import realtime_config
from django_stability.state import get_engine

logger = logging.getLogger("django_stability.realtime")

#: Seconds after which a membership is added again, before the layer's group expiry drops it.
REFRESH = 3600.0
#: Seconds to wait before receiving again after the layer failed.
RETRY = 1.0


def group_name(channel: str) -> str:
    """The channel-layer group of ``channel`` (group names allow fewer characters)."""
    digest = hashlib.blake2b(channel.encode(), digest_size=16).hexdigest()
    return f"stability-rt.{digest}"


class Local(Protocol):
    """A subscriber the hub wakes: the consumers' ``stability_wakeup``."""

    async def stability_wakeup(self, message: dict[str, Any]) -> None: ...


class Hub:
    """The local subscribers of each group, for one channel layer on one event loop."""

    def __init__(self, layer: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.layer = layer
        self.clock = clock
        self.channel_name: str | None = None
        self.members: dict[str, dict[Local, contextvars.Context]] = {}
        self.added: dict[str, float] = {}  # group -> when its membership was last added
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None
        self.pending: set[asyncio.Task[None]] = set()
        # Consumers being woken now -> the newest wake-up that came meanwhile.
        # One wake-up at most waits per consumer, however slow its client: a
        # later one only moves the id to catch up to.
        self.waiting: dict[Local, dict[str, Any] | None] = {}

    async def join(self, group: str, consumer: Local) -> None:
        """Wake ``consumer`` for ``group``'s wake-ups; joins the group if this process had not."""
        # The consumer's context (correlation ID, user) goes with its wake-ups.
        self.members.setdefault(group, {})[consumer] = contextvars.copy_context()
        if self.reader is None or self.reader.done():
            self.reader = asyncio.ensure_future(self._read())
        await self.refresh(group)

    async def refresh(self, group: str) -> None:
        """Add the membership if this process has none, or had it for :data:`REFRESH` seconds."""
        added = self.added.get(group)
        if added is not None and self.clock() - added < REFRESH:
            return
        async with self.lock:
            added = self.added.get(group)
            if added is not None and self.clock() - added < REFRESH:
                return
            if self.channel_name is None:
                self.channel_name = await self.layer.new_channel()
            await self.layer.group_add(group, self.channel_name)
            self.added[group] = self.clock()

    async def leave(self, group: str, consumer: Local) -> None:
        """Stop waking ``consumer``; the last local subscriber of ``group`` leaves the group."""
        members = self.members.get(group)
        if members is not None:
            members.pop(consumer, None)
        async with self.lock:
            if self.members.get(group):
                return
            self.members.pop(group, None)
            if self.added.pop(group, None) is not None:
                await self.layer.group_discard(group, self.channel_name)
        if not self.members and self.reader is not None:
            self.reader.cancel()
            self.reader = None

    def dispatch(self, message: dict[str, Any]) -> int:
        """Hand a wake-up to the local subscribers of its group; how many were woken."""
        if message.get("type") != "stability.wakeup":
            return 0
        self._keep(message)
        group = message.get("group")
        if group is None:  # from a broadcaster that does not name the group: wake all
            targets = [m for ms in self.members.values() for m in ms.items()]
        else:
            targets = list(self.members.get(group, {}).items())
        loop = asyncio.get_running_loop()
        for consumer, context in targets:
            if consumer in self.waiting:
                self.waiting[consumer] = _newer(self.waiting[consumer], message)
                continue
            self.waiting[consumer] = None
            task = loop.create_task(self._wake(consumer, message), context=context)
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
        return len(targets)

    async def _wake(self, consumer: Local, message: dict[str, Any] | None) -> None:
        """Wake ``consumer``, then again with the newest wake-up that came meanwhile."""
        try:
            while message is not None:
                await _wake(consumer, message)
                message = self.waiting.get(consumer)
                self.waiting[consumer] = None
        finally:
            self.waiting.pop(consumer, None)

    def _keep(self, message: dict[str, Any]) -> None:
        # The event rode along: keep it, so the subscribers need no log read.
        channel, event_id, data = (message.get(k) for k in ("channel", "id", "data"))
        if (
            isinstance(channel, str)
            and isinstance(event_id, int)
            and isinstance(data, str)
        ):
            max_events = realtime_config().replay_max_events
            recent.remember(channel, [(event_id, data)], max_events)

    async def _read(self) -> None:
        failed = False
        while True:
            try:
                if failed:
                    await self._recover()
                    failed = False
                if self.channel_name is None:
                    async with self.lock:
                        if self.channel_name is None:
                            self.channel_name = await self.layer.new_channel()
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failed:  # once per outage, not once a second
                    logger.warning("realtime: receiving wake-ups failed", exc_info=True)
                failed = True
                await asyncio.sleep(RETRY)
                continue
            self.dispatch(message)

    async def _recover(self) -> None:
        """The layer answers again: rejoin every group, then catch every local subscriber up (raises while it fails)."""
        async with self.lock:
            if self.channel_name is None:
                self.channel_name = await self.layer.new_channel()
            for group in list(self.members):
                await self.layer.group_add(group, self.channel_name)
                self.added[group] = self.clock()
        logger.info("realtime: wake-ups received again; catching subscribers up")
        with contextlib.suppress(Exception):  # the log's reads retry on their own
            await get_engine().aping()  # end the engine's backoff now, not later
        self.dispatch({"type": "stability.wakeup", "catch_up": True})

    async def rejoin(self, group: str) -> None:
        """Add ``group``'s membership again now (the log was found reset: Redis lost its data)."""
        self.added.pop(group, None)
        await self.refresh(group)


def _newer(kept: dict[str, Any] | None, message: dict[str, Any]) -> dict[str, Any]:
    """The wake-up with the higher id (what a catch-up must reach)."""
    if kept is None or message.get("id", 0) >= kept.get("id", 0):
        return message
    return kept


async def _wake(consumer: Local, message: dict[str, Any]) -> None:
    try:
        await consumer.stability_wakeup(message)
    except Exception:  # its own failure, never the hub's
        logger.warning("realtime: a wake-up failed", exc_info=True)


_hubs: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Any, Hub]
] = weakref.WeakKeyDictionary()


def hub_for(layer: Any) -> Hub:
    """The hub of ``layer`` on the running event loop."""
    loop = asyncio.get_running_loop()
    per_layer = _hubs.get(loop)
    if per_layer is None:
        per_layer = _hubs[loop] = weakref.WeakKeyDictionary()
    hub = per_layer.get(layer)
    if hub is None:
        hub = per_layer[layer] = Hub(layer)
    return hub


async def quietly(step: Awaitable[None], what: str) -> None:
    """Await ``step`` for at most 5 s; a failure is logged, never raised (heartbeats poll the log)."""
    try:
        async with asyncio.timeout(5):
            await step
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("realtime: could not %s", what, exc_info=True)
