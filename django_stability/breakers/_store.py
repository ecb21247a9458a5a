"""Where breakers keep their state: one shared-state operation, Lua plus its Python twin.

``STEP`` applies one event (:func:`._machine.step`) to a breaker's record and
trial permits atomically: in Redis through the Lua script below, in process
memory through the Python twin. Two keys per breaker, sharing a hash tag so
that they would land on one Redis Cluster slot: ``breaker:{name}`` (a hash)
and ``breaker:{name}:trials`` (a sorted set of trial permits by deadline).
"""

from __future__ import annotations

from dataclasses import dataclass

from django_stability.breakers._machine import FORCED_NAMES, STATE_NAMES, Limits, step
from django_stability.state import MemoryStore, Operation

_STEP_LUA = """
local now, mode = tonumber(ARGV[1]), ARGV[2]
local calls, failures, slow = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local token, outcome = ARGV[6], tonumber(ARGV[7])
local window, fthr, frate = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local mincalls, srate, reset = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local hmax, sthr = tonumber(ARGV[14]), tonumber(ARGV[15])
local lease, ttl = tonumber(ARGV[16]), tonumber(ARGV[17])

local flat = redis.call('HGETALL', KEYS[1])
local fresh = 0
if #flat == 0 then fresh = 1 end
local rec = {st = 0, fo = 0, oa = 0, gen = 0, hs = 0}
local bucket_ms = math.max(1, math.ceil(window / 10))
local cur = math.floor(now / bucket_ms)
local oldest = cur - 9
local buckets, stale = {}, {}
for i = 1, #flat, 2 do
  local k, v = flat[i], tonumber(flat[i + 1])
  if string.sub(k, 2, 2) == ':' then
    if tonumber(string.sub(k, 3)) < oldest then
      stale[#stale + 1] = k
    else
      buckets[k] = v
    end
  else
    rec[k] = v
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

local function effective()
  if rec.fo == 1 then return 1 end
  return rec.st
end
local function window_sums()
  local c, f, s = 0, 0, 0
  for k, v in pairs(buckets) do
    local kind = string.sub(k, 1, 1)
    if kind == 'c' then c = c + v elseif kind == 'f' then f = f + v else s = s + v end
  end
  return c, f, s
end
local function clear_window()
  local fields = {}
  for k, _ in pairs(buckets) do fields[#fields + 1] = k end
  if #fields > 0 then redis.call('HDEL', KEYS[1], unpack(fields)) end
  buckets = {}
end
local function trip()
  rec.st, rec.oa, rec.hs = 1, now, 0
  clear_window()
  redis.call('DEL', KEYS[2])
end
local function close()
  rec.st, rec.hs = 0, 0
  clear_window()
  redis.call('DEL', KEYS[2])
end

local before = effective()
local granted = 0
if mode == 'r' then
  if rec.st == 0 and rec.fo ~= 1 then
    local added = {c = calls, f = failures, s = slow}
    for kind, amount in pairs(added) do
      if amount > 0 then
        local field = kind .. ':' .. cur
        buckets[field] = redis.call('HINCRBY', KEYS[1], field, amount)
      end
    end
    local wc, wf, ws = window_sums()
    if rec.fo == 0 and (
        (fthr > 0 and wf >= fthr)
        or (frate > 0 and wc >= mincalls and wf * 100 >= frate * wc)
        or (srate > 0 and wc >= mincalls and ws * 100 >= srate * wc)) then
      trip()
    end
  end
elseif mode == 'a' then
  if rec.fo == 1 then
    granted = 0
  elseif rec.fo == 2 or rec.st == 0 then
    granted = 1
  else
    if rec.st == 1 and now >= rec.oa + reset then
      rec.st, rec.hs = 2, 0
      redis.call('DEL', KEYS[2])
    end
    if rec.st == 2 and redis.call('ZCARD', KEYS[2]) < hmax then
      redis.call('ZADD', KEYS[2], now + lease, token)
      granted = 1
    end
  end
elseif mode == 't' then
  local held = redis.call('ZREM', KEYS[2], token) == 1
  if rec.st == 2 and rec.fo == 0 then
    if outcome == 2 then
      trip()
    elseif outcome == 1 and held then
      rec.hs = rec.hs + 1
      if rec.hs >= sthr then close() end
    end
  end
elseif mode == 'c' then
  if outcome == 1 then
    rec.fo, rec.oa = 1, now
  elseif outcome == 2 then
    rec.fo = 2
    close()
  elseif outcome == 3 or outcome == 4 then
    if outcome == 3 then rec.fo = 0 end
    close()
  end
else
  return redis.error_reply('unknown breaker event mode ' .. mode)
end

local after = effective()
local changed_from = -1
if after ~= before then
  rec.gen = rec.gen + 1
  changed_from = before
end
redis.call('HSET', KEYS[1], 'st', rec.st, 'fo', rec.fo, 'oa', rec.oa, 'gen', rec.gen, 'hs', rec.hs)
redis.call('PEXPIRE', KEYS[1], ttl)
local in_flight = redis.call('ZCARD', KEYS[2])
if in_flight > 0 then redis.call('PEXPIRE', KEYS[2], lease) end
local wc, wf, ws = window_sums()
return {after, rec.fo, rec.st, rec.oa, rec.gen, wc, wf, ws, rec.hs, in_flight, granted, changed_from, fresh}
"""


def _step_local(store: MemoryStore, keys: list[str], args: list[str]) -> list[int]:
    rec = store.get(keys[0])
    trials = store.get(keys[1]) or {}
    limits = Limits.from_args(args[7:])
    rec, reply = step(
        dict(rec) if rec is not None else None,
        trials,
        now=int(args[0]),
        mode=args[1],
        calls=int(args[2]),
        failures=int(args[3]),
        slow=int(args[4]),
        token=args[5],
        outcome=int(args[6]),
        limits=limits,
    )
    store.set(keys[0], rec, ttl_ms=limits.ttl_ms)
    if trials:
        store.set(keys[1], trials, ttl_ms=limits.lease_ms)
    else:
        store.delete([keys[1]])
    return reply


@dataclass(frozen=True)
class Record:
    """A breaker's shared state as one event left it: the reply of :func:`._machine.step`, by name.

    ``state`` is the effective state (forced open reads as open), ``underlying``
    the state under a forced one; ``fresh``: the record did not exist before
    (first use, or Redis lost it).
    """

    state: int
    forced: int
    underlying: int
    opened_at: int
    gen: int
    calls: int
    failures: int
    slow: int
    trial_successes: int
    in_flight: int
    granted: bool
    changed_from: int
    fresh: bool

    @property
    def state_name(self) -> str:
        return STATE_NAMES[self.state]

    @property
    def forced_name(self) -> str | None:
        return FORCED_NAMES[self.forced]


def _decode(reply: list[int]) -> Record:
    state, forced, underlying, opened_at, gen, calls, failures, slow, hs, flight = (
        reply[:10]
    )
    return Record(
        state, forced, underlying, opened_at, gen, calls, failures, slow, hs, flight,
        granted=bool(reply[10]), changed_from=reply[11], fresh=bool(reply[12]),
    )  # fmt: skip


#: ``keys=[record, trials]``, ``args=[now_ms, mode, calls, failures, slow, token, outcome, *limits]``.
STEP: Operation[Record] = Operation("breaker-step", _STEP_LUA, _step_local, _decode)


def keys_for(name: str) -> list[str]:
    """The two shared-state keys of breaker ``name``."""
    return [f"breaker:{{{name}}}", f"breaker:{{{name}}}:trials"]
