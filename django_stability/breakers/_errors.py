"""The error of a refused call."""

from __future__ import annotations

import math


class CircuitOpenError(Exception):
    """A call was refused: the breaker is open (or half-open with every trial permit taken).

    Under the API prefixes it becomes a 503 problem response with ``Retry-After``.

    Attributes:
        name: The breaker's name.
        retry_at: When trial calls may be let through again (epoch seconds);
            ``None`` while forced open.
        retry_after: Whole seconds until ``retry_at`` (at least 1), or ``None``.

    .. versionadded:: 0.1
    """

    def __init__(self, name: str, retry_at: float | None, now: float) -> None:
        self.name = name
        self.retry_at = retry_at
        self.retry_after = (
            None if retry_at is None else max(1, math.ceil(retry_at - now))
        )
        when = (
            "until an operator releases it"
            if retry_at is None
            else f"retry in {self.retry_after}s"
        )
        super().__init__(f"circuit breaker {name!r} is open ({when})")
