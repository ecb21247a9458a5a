"""Events this process read lately, so that one log read serves every local subscriber."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django_stability.runtime import runtime

Events = list[tuple[int, str]]
T = TypeVar("T")

#: Channels whose recent events a process keeps (least recently used go first).
MAX_CHANNELS = 1024


class Recent:
    """Per channel, the latest run of consecutive events this process read."""

    def __init__(self, max_channels: int = MAX_CHANNELS) -> None:
        self.max_channels = max_channels
        self._runs: OrderedDict[str, Events] = OrderedDict()
        self._reads: dict[tuple[int, str, int], asyncio.Task[Any]] = {}

    def after(self, channel: str, after: int, upto: int) -> Events | None:
        """Events with ids ``after+1 .. upto`` (and any later kept), or ``None`` if not all kept."""
        run = self._runs.get(channel)
        if not run:
            return None
        first, last = run[0][0], run[-1][0]
        if first - 1 <= after and upto <= last:
            return run[after - first + 1 :]
        return None

    def remember(self, channel: str, events: Events, max_events: int) -> None:
        """Keep ``events`` (consecutive ids), joined to the kept run when they touch it."""
        if not events:
            return
        run = self._runs.get(channel)
        start = events[0][0]
        if run and run[0][0] <= start <= run[-1][0] + 1:
            run = run[: start - run[0][0]] + events
        else:
            run = list(events)
        self._runs[channel] = run[-max_events:]
        self._runs.move_to_end(channel)
        while len(self._runs) > self.max_channels:
            self._runs.popitem(last=False)

    async def shared(
        self, channel: str, after: int, read: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``read`` once for concurrent callers asking for ``channel`` after ``after``."""
        key = (id(asyncio.get_running_loop()), channel, after)
        task = self._reads.get(key)
        if task is None:
            task = asyncio.ensure_future(read())
            self._reads[key] = task
            task.add_done_callback(lambda _: self._reads.pop(key, None))
        # One caller going away (its client left) must not cancel the others' read.
        result: T = await asyncio.shield(task)
        return result

    def clear(self) -> None:
        self._runs.clear()


#: The process's kept events; a settings change (another engine) forgets them.
recent = Recent()
runtime.on_reset(recent.clear)
