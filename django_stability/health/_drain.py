"""The drain flag: "stop sending me traffic", per process (SIGTERM) or for every worker.

The shared flag (``manage.py drain``) lives in the shared-state engine; either
flag makes the readiness probe answer 503 ``"draining"``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Callable

from django_stability.state import Engine, get_engine

#: The engine key of the shared flag.
DRAIN_KEY = "health:drain"

_local = threading.Event()


@dataclasses.dataclass(frozen=True)
class DrainState:
    """Whether every worker is asked to drain, since when (epoch seconds) and by whom."""

    on: bool
    since: float | None = None
    by: str | None = None


def start_local_drain() -> None:
    """Make this process's readiness probe answer 503 "draining" from now on."""
    _local.set()


def stop_local_drain() -> None:
    """Undo :func:`start_local_drain` (tests, or an aborted shutdown)."""
    _local.clear()


def local_draining() -> bool:
    """Whether this process was told to drain (SIGTERM)."""
    return _local.is_set()


def set_drain(
    on: bool,
    *,
    engine: Engine | None = None,
    clock: Callable[[], float] = time.time,
) -> DrainState:
    """Turn the shared drain flag on or off for every worker; return the new state.

    The flag has no expiry: ``drain off`` (or a new deploy calling it) ends it.
    """
    engine = engine or get_engine()
    if not on:
        engine.delete(DRAIN_KEY)
        return DrainState(False)
    state = DrainState(True, clock(), f"{socket.gethostname()} pid {os.getpid()}")
    engine.set(
        DRAIN_KEY, json.dumps({"since": state.since, "by": state.by}), now=clock()
    )
    return state


def _parse(raw: str | None) -> DrainState:
    if raw is None:
        return DrainState(False)
    try:
        data = json.loads(raw)
        return DrainState(True, float(data["since"]), str(data["by"]))
    except (ValueError, KeyError, TypeError):  # written by hand: still a drain
        return DrainState(True)


def drain_state(
    engine: Engine | None = None, *, clock: Callable[[], float] = time.time
) -> DrainState:
    """The shared flag as the engine sees it now."""
    return _parse((engine or get_engine()).get(DRAIN_KEY, now=clock()))


async def adrain_state(
    engine: Engine | None = None, *, clock: Callable[[], float] = time.time
) -> DrainState:
    """The async twin of :func:`drain_state`."""
    return _parse(await (engine or get_engine()).aget(DRAIN_KEY, now=clock()))
