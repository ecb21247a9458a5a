"""The replay log: a bounded, per-channel list of events with increasing ids (layout in docs/design/realtime.rst)."""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from django_stability.state import MemoryStore, Operation

# "." and ".." excluded: a URL cannot carry them as a path segment.
CHANNEL_NAME = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._:-]{1,200}")


def check_channel(channel: object) -> str:
    """Return ``channel`` if it is a valid channel name, else raise ``ValueError``."""
    if not isinstance(channel, str) or CHANNEL_NAME.fullmatch(channel) is None:
        raise ValueError(
            'a channel name must be 1-200 chars of [A-Za-z0-9._:-], not "." or ".."'
        )
    return channel


def log_keys(channel: str) -> list[str]:
    return [f"rt:{channel}:meta", f"rt:{channel}:events"]


# Pops the head while the log is too long or the head too old; records the
# last popped id as ``drop``. Shared by both scripts (KEYS[1], KEYS[2]).
_TRIM_LUA = """
local function trim(now, ttl, maxn)
  local cutoff = now - ttl
  local dropped = nil
  local n = redis.call('LLEN', KEYS[2])
  while n > 0 do
    local head = redis.call('LINDEX', KEYS[2], 0)
    local hid, hts = string.match(head, '^(%d+) (%d+) ')
    if n > maxn or tonumber(hts) <= cutoff then
      redis.call('LPOP', KEYS[2])
      dropped = hid
      n = n - 1
    else
      break
    end
  end
  if dropped then redis.call('HSET', KEYS[1], 'drop', dropped) end
end
"""

_APPEND_LUA = (
    _TRIM_LUA
    + """
local now, maxn, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'seq', ARGV[4], 'drop', ARGV[4], 'base', ARGV[4])
end
local sid = string.format('%d', redis.call('HINCRBY', KEYS[1], 'seq', 1))
redis.call('RPUSH', KEYS[2], sid .. ' ' .. ARGV[1] .. ' ' .. ARGV[5])
trim(now, ttl, maxn)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return sid
"""
)

_READ_LUA = (
    _TRIM_LUA
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0', '0', '0'} end
trim(tonumber(ARGV[1]), tonumber(ARGV[2]), math.huge)
local meta = redis.call('HMGET', KEYS[1], 'seq', 'drop', 'base')
local reply = {meta[1], meta[2], meta[3]}
local after, seq, drop = tonumber(ARGV[3]), tonumber(meta[1]), tonumber(meta[2])
if after == 0 then after = tonumber(meta[3]) end
-- Behind what the log keeps, or past what it issued: all it still holds.
if after >= 0 and (after < drop or after > seq) then after = drop end
if after >= drop and after < seq then
  local items = redis.call('LRANGE', KEYS[2], after - drop, -1)
  for i = 1, #items do reply[#reply + 1] = items[i] end
end
return reply
"""
)


def _trim_local(rec: dict[str, Any], now: int, ttl: int, maxn: float) -> None:
    events: deque[tuple[int, int, str]] = rec["events"]
    cutoff = now - ttl
    while events and (len(events) > maxn or events[0][1] <= cutoff):
        rec["drop"] = events.popleft()[0]


def _append_local(store: MemoryStore, keys: list[str], args: list[str]) -> str:
    now, maxn, ttl = int(args[0]), int(args[1]), int(args[2])
    rec = store.get(keys[0])
    if not isinstance(rec, dict):
        base = int(args[3])
        rec = {"seq": base, "drop": base, "base": base, "events": deque()}
    rec["seq"] += 1
    rec["events"].append((rec["seq"], now, args[4]))
    _trim_local(rec, now, ttl, maxn)
    store.set(keys[0], rec, ttl_ms=ttl)
    return str(rec["seq"])


def _read_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[str]:
    rec = store.get(keys[0])
    if not isinstance(rec, dict):
        return ["0", "0", "0"]
    _trim_local(rec, int(args[0]), int(args[1]), float("inf"))
    after, seq, drop = int(args[2]), rec["seq"], rec["drop"]
    if after == 0:
        after = rec["base"]
    if after >= 0 and (after < drop or after > seq):
        after = drop  # behind what the log keeps, or past what it issued: all it holds
    reply = [str(seq), str(drop), str(rec["base"])]
    if drop <= after < seq:
        events = list(rec["events"])[after - drop :]
        reply.extend(f"{eid} {ts} {data}" for eid, ts, data in events)
    return reply


@dataclass(frozen=True, slots=True)
class LogRead:
    """What the log holds after some id: its last id, the last id it no longer keeps, its first id, the events."""

    seq: int
    drop: int
    base: int
    events: list[tuple[int, str]]


def _decode_entry(entry: str | bytes) -> tuple[int, str]:
    text = entry.decode() if isinstance(entry, bytes) else entry
    eid, _ts, data = text.split(" ", 2)
    return int(eid), data


def _decode_read(reply: list[Any]) -> LogRead:
    return LogRead(
        seq=int(reply[0]),
        drop=int(reply[1]),
        base=int(reply[2]),
        events=[_decode_entry(entry) for entry in reply[3:]],
    )


# Neither falls back to process memory while Redis is unreachable (see docs/realtime.rst).

#: ``keys=log_keys(channel)``, ``args=[now_ms, max_events, ttl_ms, base_id, json]``: the new id.
APPEND: Operation[int] = Operation(
    "rt_append", _APPEND_LUA, _append_local, int, fallback=False
)
#: ``keys=log_keys(channel)``, ``args=[now_ms, ttl_ms, after_id]``: a :class:`LogRead`.
READ: Operation[LogRead] = Operation(
    "rt_read", _READ_LUA, _read_local, _decode_read, fallback=False
)


@dataclass(frozen=True, slots=True)
class Replay:
    """What a subscriber resuming after ``after`` must receive.

    On a ``reset`` (the log no longer holds everything after ``after``, or never
    issued it) ``events`` are all it still holds, those after ``since``.
    """

    reset: bool
    last_id: int
    events: list[tuple[int, str]]
    since: int = 0


def replay_from(read: LogRead, after: int | None) -> Replay:
    """Decide what a subscriber at ``after`` (``None``: a new one) receives from ``read``."""
    if after is None:
        return Replay(False, read.seq, [])
    if after == 0:
        after = read.base
    if after < read.drop or after > read.seq:
        return Replay(True, read.seq, read.events, since=read.drop)
    return Replay(False, read.seq, read.events)


def encode_event(event: object) -> str:
    """The JSON text stored for ``event``, which must be a JSON-serialisable dict."""
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, not {type(event).__name__}")
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
