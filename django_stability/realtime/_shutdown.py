"""Close every realtime connection of this process, on its own loop, when ``shutdown_started`` is sent from any thread."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Protocol

from django_stability.signals import shutdown_started


class Restartable(Protocol):
    def restart_soon(self) -> None: ...


_live: weakref.WeakKeyDictionary[Restartable, asyncio.AbstractEventLoop] = (
    weakref.WeakKeyDictionary()
)


def register(consumer: Restartable) -> None:
    _live[consumer] = asyncio.get_running_loop()


def unregister(consumer: Restartable) -> None:
    _live.pop(consumer, None)


def _on_shutdown(**kwargs: Any) -> None:
    for consumer, loop in list(_live.items()):
        try:
            loop.call_soon_threadsafe(consumer.restart_soon)
        except RuntimeError:  # that loop is already closed: nothing left to close
            _live.pop(consumer, None)


shutdown_started.connect(_on_shutdown, dispatch_uid="django_stability.realtime")
