"""Admission of one subscriber (in the documented order) and its reads of the log."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from django_stability.realtime._hub import group_name
from django_stability.realtime._log import (
    READ,
    LogRead,
    Replay,
    check_channel,
    log_keys,
    replay_from,
)
from django_stability.realtime._recent import recent
from django_stability.realtime._settings import RealtimeConfig
from django_stability.realtime._slots import CLAIM, Verdict, slot_keys
from django_stability.state import Arg, get_engine

Clock = Callable[[], float]

#: Close codes (WebSocket) and the HTTP statuses the SSE endpoint answers instead.
BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, TOO_MANY = 4400, 4401, 4403, 4429
HEARTBEAT_TIMEOUT, RESTARTING, TRY_AGAIN_LATER = 4408, 1012, 1013
HTTP_STATUS = {
    BAD_REQUEST: 400,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    TOO_MANY: 429,
    TRY_AGAIN_LATER: 503,
}

_MAX_ID_DIGITS = 19


def parse_last_event_id(value: str | None) -> int | None:
    """``None`` for a new subscriber, else the id; ``ValueError`` if not a whole number."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS):
        raise ValueError("last_event_id must be a whole number of at most 19 digits")
    return int(value)


class Refusal(NamedTuple):
    """Why a subscriber was turned away: a close code, an error name and a sentence."""

    code: int
    error: str
    detail: str
    retry_after: float | None = None


#: The replay log could not be read (Redis unreachable): come back, with the same id.
LOG_UNAVAILABLE = Refusal(
    TRY_AGAIN_LATER,
    "unavailable",
    "the event log is unreachable; reconnect with the same last_event_id",
    1.0,
)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class Session:
    """One admitted subscriber: its channel, its slot and the last id it was given."""

    def __init__(
        self, channel: str, user_key: str, config: RealtimeConfig, clock: Clock
    ):
        self.channel = channel
        self.user_key = user_key
        self.config = config
        self.clock = clock
        self.slot = uuid.uuid4().hex
        self.group = group_name(channel)
        self.channel_json = json.dumps(channel)
        self.last_id = 0
        self.lock = asyncio.Lock()

    async def claim(self) -> Refusal | None:
        """Take a connection slot for the user, or say why not."""
        config, rate, ttl = self.config, self.config.rate, self.config.slot_ttl
        limit = config.max_connections_per_user
        args: list[Arg] = [_ms(self.clock()), limit, _ms(ttl), self.slot, rate.count]
        claim = await get_engine().arun(
            CLAIM, slot_keys(self.user_key), [*args, rate.seconds * 1000]
        )
        if claim.verdict is Verdict.ADMITTED:
            return None
        if claim.verdict is Verdict.FULL:
            detail = f"at most {limit} connections per user"
            return Refusal(TOO_MANY, "too_many_connections", detail, ttl)
        retry_after = max(claim.retry_after, 1.0)
        detail = "too many connection attempts"
        return Refusal(TOO_MANY, "connect_rate", detail, retry_after)

    async def renew(self) -> None:
        await get_engine().arenew_lease(
            slot_keys(self.user_key)[0],
            self.slot,
            ttl=self.config.slot_ttl,
            now=self.clock(),
        )

    async def release(self) -> None:
        await get_engine().arelease_lease(slot_keys(self.user_key)[0], self.slot)

    async def read(self, after: int | None) -> Replay:
        """What the log holds after ``after``; moves :attr:`last_id` past it."""
        read = await self._read_log(-1 if after is None else after)
        return self._advance(replay_from(read, after))

    async def read_upto(self, upto: int) -> Replay:
        """What a wake-up for id ``upto`` brings: from the events kept in process if they cover it."""
        kept = recent.after(self.channel, self.last_id, upto)
        if kept is not None:  # already kept: no need to remember them again
            self.last_id = kept[-1][0] if kept else self.last_id
            return Replay(False, self.last_id, kept)
        after = self.last_id
        read = await recent.shared(self.channel, after, lambda: self._read_log(after))
        return self._advance(replay_from(read, after))

    async def _read_log(self, after: int) -> LogRead:
        return await get_engine().arun(
            READ,
            log_keys(self.channel),
            [_ms(self.clock()), _ms(self.config.replay_ttl), after],
        )

    def _advance(self, replay: Replay) -> Replay:
        self.last_id = replay.last_id
        if not replay.reset:
            recent.remember(self.channel, replay.events, self.config.replay_max_events)
        return replay


async def admit(
    channel: Any,
    raw_last_id: str | None,
    user: Any,
    can_subscribe: Callable[[Any, str], Any],
    config: RealtimeConfig,
    clock: Clock = time.time,
) -> tuple[Session | None, Refusal | None, int | None]:
    """Check a subscription in the documented order; a session, or the refusal."""
    try:
        check_channel(channel)
        last_id = parse_last_event_id(raw_last_id)
    except ValueError as exc:
        return None, Refusal(BAD_REQUEST, "bad_request", str(exc)), None
    if user is None or not getattr(user, "is_authenticated", False):
        return None, Refusal(UNAUTHENTICATED, "unauthenticated", "log in first"), None
    allowed = can_subscribe(user, channel)
    if asyncio.iscoroutine(allowed):
        allowed = await allowed
    if not allowed:
        detail = "you may not subscribe to this channel"
        return None, Refusal(FORBIDDEN, "forbidden", detail), None
    session = Session(channel, str(user.pk), config, clock)
    refusal = await session.claim()
    if refusal is not None:
        return None, refusal, None
    return session, None, last_id
