"""Close every realtime connection of this process when ``shutdown_started`` is sent.

The signal may be sent from any thread (a signal handler, a management
command, the event loop itself): each consumer is reached on its own loop
with ``call_soon_threadsafe``.
"""

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
