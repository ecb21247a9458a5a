"""``broadcast``: append an event to a channel's log, then wake its subscribers."""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync

from django_stability.realtime._hub import group_name
from django_stability.realtime._log import APPEND, check_channel, encode_event, log_keys
from django_stability.realtime._settings import realtime_config
from django_stability.state import Arg, get_engine

logger = logging.getLogger("django_stability.realtime")


def _append_args(event: dict[str, Any], now: float) -> list[Arg]:
    data = encode_event(event)
    config = realtime_config()
    now_ms = round(now * 1000)
    ttl_ms = round(config.replay_ttl * 1000)
    # A log created afresh starts above any id an expired one handed out.
    return [now_ms, config.replay_max_events, ttl_ms, now_ms * 1000, data]


def _entry(channel: str, event: dict[str, Any]) -> tuple[list[str], list[Arg]]:
    """The log keys and APPEND arguments of ``event``, once ``channel`` is known valid."""
    return log_keys(check_channel(channel)), _append_args(event, time.time())


def _layer() -> Any:
    try:
        from channels.layers import get_channel_layer
    except ImportError:  # the [channels] extra is not installed: no live subscribers
        return None
    return get_channel_layer()


#: Events up to this many characters of JSON ride along with their wake-up, so
#: that no process has to read them back from the log.
CARRY_LIMIT = 64 * 1024


def wakeup(channel: str, event_id: int, data: str) -> dict[str, Any]:
    """The layer message that wakes every process's subscribers of ``channel`` for ``event_id``."""
    message: dict[str, Any] = {
        "type": "stability.wakeup",
        "id": event_id,
        "group": group_name(channel),
        "channel": channel,
    }
    if len(data) <= CARRY_LIMIT:
        message["data"] = data
    return message


async def _wake(channel: str, event_id: int, data: str) -> None:
    layer = _layer()
    if layer is None:
        return
    try:
        # One message per process (its hub wakes the local subscribers).
        await layer.group_send(group_name(channel), wakeup(channel, event_id, data))
    except Exception:
        # Harmless: subscribers read the log on their next wake-up or heartbeat.
        logger.warning("realtime: wake-up of %r failed", channel, exc_info=True)


def broadcast(channel: str, event: dict[str, Any]) -> int:
    """Store ``event`` in ``channel``'s replay log, then wake its subscribers.

    Call it from synchronous code (views, signals, tasks); async code uses
    :func:`abroadcast`.

    Args:
        channel: 1-200 chars of ``[A-Za-z0-9._:-]``.
        event: A JSON-serialisable dict, delivered to subscribers as ``data``.

    Returns:
        The event's id, greater than every id the channel handed out before.

    Raises:
        ValueError: ``channel`` is not a valid name.
        TypeError: ``event`` is not a dict, or not JSON-serialisable.
        django_stability.state.StateUnavailable: the shared-state Redis is
            unreachable (or the engine is still waiting to retry it). The
            event was not acknowledged: it may or may not have been stored
            before Redis stopped answering; retry later, or drop it. The
            replay log never falls back to process memory.

    .. versionadded:: 0.1
    """
    keys, args = _entry(channel, event)
    event_id = get_engine().run(APPEND, keys, args)
    async_to_sync(_wake)(channel, event_id, str(args[-1]))
    return event_id


async def abroadcast(channel: str, event: dict[str, Any]) -> int:
    """The async twin of :func:`broadcast`; raises the same exceptions.

    .. versionadded:: 0.1
    """
    keys, args = _entry(channel, event)
    event_id = await get_engine().arun(APPEND, keys, args)
    await _wake(channel, event_id, str(args[-1]))
    return event_id
