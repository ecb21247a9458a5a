"""The shared-state engine: state every worker process must agree on, in Redis or in process memory.

See ``docs/shared-state.rst``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_stability.state._builtin import DELETE, GET, INCR, SET, WindowCount
from django_stability.state._engine import (
    Engine,
    EngineStatus,
    Mode,
    StateUnavailable,
    get_engine,
)
from django_stability.state._memory import MemoryStore
from django_stability.state._ops import Arg, Operation

if TYPE_CHECKING:
    from django_stability.state._redis import OUTAGE_ERRORS

__all__ = [
    "DELETE",
    "GET",
    "INCR",
    "OUTAGE_ERRORS",
    "SET",
    "Arg",
    "Engine",
    "EngineStatus",
    "MemoryStore",
    "Mode",
    "Operation",
    "StateUnavailable",
    "WindowCount",
    "get_engine",
]


def __getattr__(name: str) -> Any:
    # OUTAGE_ERRORS names redis-py's exception classes: import redis-py only
    # when asked, so that memory mode works without the [redis] extra.
    if name == "OUTAGE_ERRORS":
        from django_stability.state._redis import OUTAGE_ERRORS

        return OUTAGE_ERRORS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
