"""What the WebSocket and SSE consumers share: admission, replay, heartbeats.

A :class:`Session` is one subscriber of one channel. It is admitted once
(channel name, ``last_event_id``, user, ``can_subscribe``, the per-user slot
and the connect rate, in that order), then reads the log after the last id it
delivered whenever it is woken up, so delivery never depends on the channel
layer: a wake-up that is lost is made up for by the next one, or by the next
heartbeat, which reads the log too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django_stability.conf import conf
from django_stability.ratelimit._rates import parse_rate
from django_stability.realtime._hub import Local, hub_for
from django_stability.realtime._log import (
    READ,
    LogRead,
    Replay,
    check_channel,
    log_keys,
    replay_from,
)
from django_stability.realtime._recent import recent
from django_stability.realtime._slots import (
    CLAIM,
    RELEASE,
    RENEW,
    SLOT_TTL_BEATS,
    Verdict,
    slot_keys,
)
from django_stability.state import get_engine

logger = logging.getLogger("django_stability.realtime")

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


def group_name(channel: str) -> str:
    """The channel-layer group of ``channel`` (group names allow fewer characters)."""
    digest = hashlib.blake2b(channel.encode(), digest_size=16).hexdigest()
    return f"stability-rt.{digest}"


def parse_last_event_id(value: str | None) -> int | None:
    """``None`` for a new subscriber, else the id; ``ValueError`` if not a whole number."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS):
        raise ValueError("last_event_id must be a whole number of at most 19 digits")
    return int(value)


@dataclass(frozen=True, slots=True)
class Options:
    """``STABILITY_REALTIME``, read once per connection."""

    heartbeat: float
    max_connections: int
    rate_count: int
    rate_seconds: int
    max_events: int
    ttl: float
    send_timeout: float

    @classmethod
    def current(cls) -> Options:
        rate = parse_rate(conf.realtime_option("CONNECT_RATE"))
        return cls(
            heartbeat=float(conf.realtime_option("HEARTBEAT")),
            max_connections=int(conf.realtime_option("MAX_CONNECTIONS_PER_USER")),
            rate_count=rate.count,
            rate_seconds=rate.seconds,
            max_events=int(conf.realtime_option("REPLAY_MAX_EVENTS")),
            ttl=float(conf.realtime_option("REPLAY_TTL")),
            send_timeout=float(conf.realtime_option("SEND_TIMEOUT")),
        )

    @property
    def slot_ttl(self) -> float:
        """Seconds a slot outlives its last renewal: a dead worker's slots are free after this."""
        return self.heartbeat * SLOT_TTL_BEATS


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


class Heartbeat:
    """Counts heartbeats the client left unanswered; two silent beats drop it."""

    ALLOWED_SILENT = 2

    def __init__(self) -> None:
        self.awaiting = False
        self.silent = 0

    def heard(self) -> None:
        """The client sent something: it is alive."""
        self.awaiting = False
        self.silent = 0

    def beat(self) -> bool:
        """Whether to send the next beat (``False``: the client is gone, drop it)."""
        if self.awaiting:
            self.silent += 1
        if self.silent >= self.ALLOWED_SILENT:
            return False
        self.awaiting = True
        return True


class Session:
    """One admitted subscriber: its channel, its slot and the last id it was given."""

    def __init__(self, channel: str, user_key: str, options: Options, clock: Clock):
        self.channel = channel
        self.user_key = user_key
        self.options = options
        self.clock = clock
        self.slot = uuid.uuid4().hex
        self.group = group_name(channel)
        self.channel_json = json.dumps(channel)
        self.last_id = 0
        self.lock = asyncio.Lock()

    async def claim(self) -> Refusal | None:
        """Take a connection slot for the user, or say why not."""
        opts = self.options
        claim = await get_engine().arun(
            CLAIM,
            slot_keys(self.user_key),
            [
                _ms(self.clock()),
                opts.max_connections,
                _ms(opts.slot_ttl),
                self.slot,
                opts.rate_count,
                opts.rate_seconds * 1000,
            ],
        )
        if claim.verdict is Verdict.ADMITTED:
            return None
        if claim.verdict is Verdict.FULL:
            return Refusal(
                TOO_MANY,
                "too_many_connections",
                f"at most {opts.max_connections} connections per user",
                opts.slot_ttl,
            )
        return Refusal(
            TOO_MANY,
            "connect_rate",
            "too many connection attempts",
            max(claim.retry_after, 1.0),
        )

    async def renew(self) -> None:
        await get_engine().arun(
            RENEW,
            slot_keys(self.user_key)[:1],
            [_ms(self.clock()), _ms(self.options.slot_ttl), self.slot],
        )

    async def release(self) -> None:
        await get_engine().arun(RELEASE, slot_keys(self.user_key)[:1], [self.slot])

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
            [_ms(self.clock()), _ms(self.options.ttl), after],
        )

    def _advance(self, replay: Replay) -> Replay:
        self.last_id = replay.last_id
        if not replay.reset:
            recent.remember(self.channel, replay.events, self.options.max_events)
        return replay


async def admit(
    channel: Any,
    raw_last_id: str | None,
    user: Any,
    can_subscribe: Callable[[Any, str], Any],
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
    session = Session(channel, str(user.pk), Options.current(), clock)
    refusal = await session.claim()
    if refusal is not None:
        return None, refusal, None
    return session, None, last_id


async def join(layer: Any, session: Session, consumer: Local) -> None:
    """Have this process's hub wake ``consumer``; a layer failure only costs latency (heartbeats poll the log)."""
    if layer is None:
        return
    try:
        async with asyncio.timeout(5):
            await hub_for(layer).join(session.group, consumer)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("realtime: could not join the wake-up group", exc_info=True)


async def refresh(layer: Any, session: Session) -> None:
    """Keep this process in the wake-up group (a heartbeat's share; failures are logged)."""
    if layer is None:
        return
    try:
        async with asyncio.timeout(5):
            await hub_for(layer).refresh(session.group)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("realtime: could not renew the wake-up group", exc_info=True)


async def rejoin(layer: Any, session: Session) -> None:
    """Add this process's wake-up membership again now; failures are logged."""
    if layer is None:
        return
    try:
        async with asyncio.timeout(5):
            await hub_for(layer).rejoin(session.group)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.warning("realtime: could not rejoin the wake-up group", exc_info=True)


async def leave(layer: Any, session: Session, consumer: Local) -> None:
    """Free the slot and stop being woken; failures are logged, never raised."""
    for step in ("slot", "group"):
        try:
            async with asyncio.timeout(5):
                if step == "slot":
                    await session.release()
                elif layer is not None:
                    await hub_for(layer).leave(session.group, consumer)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("realtime: cleanup step %s failed", step, exc_info=True)
