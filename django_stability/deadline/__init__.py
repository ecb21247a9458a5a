"""Request deadlines: how long a request may take, and what stops when it runs out (docs/deadlines.rst)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django_stability.deadline._context import (
    Clock,
    Deadline,
    DeadlineExceeded,
    check,
    current,
    remaining,
    scope,
)
from django_stability.deadline._database import install_database_guard
from django_stability.deadline._settings import HEADER
from django_stability.errors import register_problem

__all__ = [
    "HEADER",
    "Deadline",
    "DeadlineExceeded",
    "check",
    "current",
    "deadline",
    "remaining",
]


@contextmanager
def deadline(seconds: float, *, clock: Clock = time.monotonic) -> Iterator[Deadline]:
    """Give the block ``seconds`` to finish (never more than the deadline around it, if any).

    Inside it, :func:`remaining` counts down, database queries are refused
    or cancelled when the time is up, and the HTTP helper of
    ``django_stability.breakers.integrations.http`` waits no longer than
    what is left. ``DeadlineMiddleware`` opens one per request; use this
    for work outside requests (a task, a command).

    Args:
        seconds: A positive finite number.
        clock: Monotonic seconds; tests inject a fake one.

    Raises:
        TypeError: ``seconds`` is not a number.
        ValueError: ``seconds`` is not positive and finite.

    .. versionadded:: 0.1
    """
    install_database_guard()
    with scope(seconds, clock) as found:
        yield found


register_problem(
    DeadlineExceeded,
    status=504,
    code="deadline_exceeded",
    title="Deadline exceeded",
    detail="The request took longer than its deadline allows; its remaining work was stopped.",
)
