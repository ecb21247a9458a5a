"""The deadline of the work in progress, in a context variable: set once per request, read by whatever does I/O."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Clock = Callable[[], float]


class DeadlineExceeded(Exception):
    """The work ran out of time: its deadline passed, and what would have run after it did not.

    Under the API prefixes it becomes a 504 problem response with the code
    ``deadline_exceeded``.

    Attributes:
        budget: The seconds the work was given.
        where: What was stopped: ``"database"``, ``"http"``, ``"request"``
            (an async view cancelled) or ``"check"`` (:func:`check`).

    .. versionadded:: 0.1
    """

    def __init__(self, budget: float, where: str) -> None:
        self.budget = budget
        self.where = where
        super().__init__(f"deadline of {budget:g}s exceeded ({where})")


class Deadline:
    """A point in time on ``clock`` by which the work must be done.

    Args:
        seconds: The budget, from now.
        clock: Monotonic seconds; tests inject a fake one.

    .. versionadded:: 0.1
    """

    __slots__ = ("budget", "clock", "expires_at")

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self.budget = seconds
        self.clock = clock
        self.expires_at = clock() + seconds

    def __repr__(self) -> str:
        return f"<Deadline {self.remaining():.3f}s of {self.budget:g}s left>"

    def remaining(self) -> float:
        """Seconds left; zero or less once the deadline has passed."""
        return self.expires_at - self.clock()

    def remaining_ms(self) -> int:
        """Whole milliseconds left, rounded down; ``0`` when less than one is left."""
        return max(0, math.floor(self.remaining() * 1000))

    def check(self, where: str = "check") -> None:
        """Raise :class:`DeadlineExceeded` if the deadline has passed."""
        if self.remaining() <= 0:
            raise DeadlineExceeded(self.budget, where)


_current: ContextVar[Deadline | None] = ContextVar("stability_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the work in progress, or ``None`` when it has none.

    .. versionadded:: 0.1
    """
    return _current.get()


def remaining() -> float | None:
    """Seconds left before the current deadline (zero or less once passed), or ``None`` without one.

    .. versionadded:: 0.1
    """
    found = _current.get()
    return None if found is None else found.remaining()


def check() -> None:
    """Raise :class:`DeadlineExceeded` if the current deadline has passed; for loops in your own code.

    .. versionadded:: 0.1
    """
    found = _current.get()
    if found is not None:
        found.check()


@contextmanager
def scope(seconds: float, clock: Clock = time.monotonic) -> Iterator[Deadline]:
    """A deadline ``seconds`` from now for the block, never later than the one around it."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"a deadline is a number of seconds, not {seconds!r}")
    if not seconds > 0 or math.isinf(seconds):  # NaN fails the comparison
        raise ValueError(
            f"a deadline is a positive finite number of seconds, not {seconds!r}"
        )
    outer = _current.get()
    found = Deadline(seconds, clock)
    if outer is not None and outer.remaining() <= seconds:
        found = outer
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)
