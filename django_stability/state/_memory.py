"""The in-process store: a dict with Redis-like key expiry and one lock, for operations' Python twins."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

Clock = Callable[[], float]

#: The Python twin: ``(store, keys, args) -> reply``, run under the store's lock.
LocalFunction = Callable[["MemoryStore", list[str], list[str]], Any]


class Twin(Protocol):
    """What the store runs: an :class:`~django_stability.state.Operation`'s Python twin."""

    local: LocalFunction


class MemoryStore:
    """Keys with optional expiry, driven by an injectable clock; expired keys are also swept actively.

    Args:
        clock: Seconds, monotonic; ``time.monotonic`` unless a test injects one.

    .. versionadded:: 0.1
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._deadlines: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._queued: set[str] = set()

    def run(self, op: Twin, keys: list[str], args: list[str]) -> Any:
        """Run ``op``'s Python twin atomically and return its Redis-shaped reply."""
        with self.lock:
            self._sweep()
            return as_reply(op.local(self, keys, args))

    # The methods below are for Python twins, which already hold the lock.

    def get(self, key: str) -> Any:
        """The value at ``key``, or ``None`` when absent or expired."""
        deadline = self._deadlines.get(key)
        if deadline is not None and deadline <= self.clock():
            self._forget(key)
        return self._data.get(key)

    def set(self, key: str, value: Any, *, ttl_ms: int | None = None) -> None:
        """Store ``value``; like Redis ``SET``, any previous expiry is dropped."""
        self._data[key] = value
        self._deadlines.pop(key, None)
        if ttl_ms is not None:
            self.pexpire(key, ttl_ms)

    def delete(self, keys: Sequence[str]) -> int:
        """Remove ``keys``; return how many existed (Redis ``DEL``)."""
        removed = 0
        for key in keys:
            if self.get(key) is not None:
                removed += 1
            self._forget(key)
        return removed

    def pexpire(self, key: str, ttl_ms: int) -> bool:
        """Expire ``key`` after ``ttl_ms`` milliseconds (at once if <= 0)."""
        if self.get(key) is None:
            return False
        if ttl_ms <= 0:
            self._forget(key)
            return True
        deadline = self.clock() + ttl_ms / 1000
        self._deadlines[key] = deadline
        # At most one heap entry per key keeps the heap no larger than the key
        # set however often a deadline moves; the sweep re-queues a key whose
        # deadline moved later. A deadline moved earlier is swept late, which
        # only delays reclaiming memory: reads check the deadline themselves.
        if key not in self._queued:
            self._queued.add(key)
            heapq.heappush(self._heap, (deadline, key))
        return True

    def pttl(self, key: str) -> int:
        """Milliseconds left: ``-2`` when absent, ``-1`` without expiry (Redis ``PTTL``)."""
        if self.get(key) is None:
            return -2
        deadline = self._deadlines.get(key)
        if deadline is None:
            return -1
        return max(0, round((deadline - self.clock()) * 1000))

    def __len__(self) -> int:
        """How many keys are held, expired ones included until swept."""
        return len(self._data)

    def flush(self) -> None:
        """Drop every key."""
        with self.lock:
            self._data.clear()
            self._deadlines.clear()
            self._heap.clear()
            self._queued.clear()

    def _forget(self, key: str) -> None:
        self._data.pop(key, None)
        self._deadlines.pop(key, None)

    def _sweep(self) -> None:
        now = self.clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            deadline = self._deadlines.get(key)
            if deadline is None:
                self._queued.discard(key)  # deleted or persisted since
            elif deadline <= now:
                self._queued.discard(key)
                self._forget(key)
            else:
                heapq.heappush(heap, (deadline, key))


def as_reply(value: Any) -> Any:
    """Convert a Python twin's result the way Redis converts a Lua value.

    ``None``/``False`` become ``None``, ``True`` becomes ``1``, numbers are
    truncated to integers, strings stay strings, and a list stops at its first
    ``None`` (a Lua array ends at its first ``nil``).
    """
    if value is None or value is False:
        return None
    if value is True:
        return 1
    kind = type(value)
    if kind is str or kind is int:
        return value
    if kind is float:
        return int(value)
    if kind is list or kind is tuple:
        items = []
        for item in value:
            if item is None:
                break
            items.append(as_reply(item))
        return items
    raise TypeError(
        f"an operation cannot return {kind.__name__}; Redis would not either"
    )
