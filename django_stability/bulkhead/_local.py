"""Places in one process: at most ``limit`` holders, waiters served in arrival order, threads and event loops alike."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable


class _Waiter:
    """One caller waiting for a place; ``wake()`` says whether it could be told."""

    __slots__ = ("granted", "wake")

    def __init__(self, wake: Callable[[], bool]) -> None:
        self.granted = False
        self.wake = wake


class LocalSlots:
    """At most ``limit`` holders at once in this process.

    A released place goes straight to the longest waiting caller (sync or
    async), so a newcomer never overtakes a waiter and nobody wakes up to
    find the place gone.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._used = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def in_use(self) -> int:
        """Places held now."""
        return self._used

    def _take(self, wake: Callable[[], bool] | None) -> bool | _Waiter:
        """A place now (``True``), none and no wait (``False``), or the queued waiter."""
        with self._lock:
            if self._used < self.limit and not self._waiters:
                self._used += 1
                return True
            if wake is None:
                return False
            waiter = _Waiter(wake)
            self._waiters.append(waiter)
            return waiter

    def _give_up(self, waiter: _Waiter) -> bool:
        """Leave the queue; ``True`` when the place was handed over meanwhile (it is then held)."""
        with self._lock:
            if waiter.granted:
                return True
            self._waiters.remove(waiter)
            return False

    def release(self) -> None:
        """Free a place: the next waiter gets it, else it is free."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
                if waiter.wake():
                    return
                waiter.granted = False  # its event loop is gone: the next one
            self._used -= 1

    def take(self, wait: float) -> bool:
        """A place within ``wait`` seconds (``0``: only if one is free now)."""
        event = threading.Event()

        def wake() -> bool:
            event.set()
            return True

        taken = self._take(wake if wait > 0 else None)
        if isinstance(taken, bool):
            return taken
        event.wait(wait)
        return taken.granted or self._give_up(taken)

    async def atake(self, wait: float) -> bool:
        """The async twin of :meth:`take`: waits without blocking the event loop."""
        loop = asyncio.get_running_loop()
        woken = loop.create_future()

        def wake() -> bool:
            try:
                loop.call_soon_threadsafe(_resolve, woken)
            except RuntimeError:  # the loop is closed
                return False
            return True

        taken = self._take(wake if wait > 0 else None)
        if isinstance(taken, bool):
            return taken
        try:
            async with asyncio.timeout(wait):
                await woken
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            if self._give_up(taken):
                self.release()  # handed over just as the caller was cancelled
            raise
        return taken.granted or self._give_up(taken)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
