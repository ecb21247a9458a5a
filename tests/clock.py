"""The suite's one fake clock, for every piece of the package that takes ``clock=``."""

from __future__ import annotations


class FakeClock:
    """Seconds that move only when told to: ``advance()``, setting ``now``, or ``tick`` per read.

    Called, it returns ``now``; with ``tick`` it then moves on by ``tick``, so code that
    reads it twice (a start and an end) measures ``tick`` seconds.
    """

    def __init__(self, start: float = 1_000.0, *, tick: float = 0.0) -> None:
        self.now = start
        self.tick = tick

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds
