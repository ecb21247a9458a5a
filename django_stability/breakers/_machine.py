"""The breaker state machine, as a pure function of a record, an event and the time.

This is the Python twin of the Lua script in ``_store.py``: both take the same
record (a Redis hash of integers), the same trial-permit set and the same
arguments, and return the same reply, so the transitions are decided in one
atomic step on either backend. No I/O, no clock: ``now`` is an argument.

Record fields: ``st`` state, ``fo`` forced state, ``oa`` opened at (ms),
``gen`` count of effective-state changes, ``hs`` trial successes, and the
sliding window as buckets ``c:<n>`` (calls), ``f:<n>`` (failures), ``s:<n>``
(slow calls), where ``n`` is ``now // bucket_ms``. The window is the last
:data:`BUCKETS` buckets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django_stability.state import Arg

CLOSED, OPEN, HALF_OPEN = 0, 1, 2
NOT_FORCED, FORCED_OPEN, FORCED_CLOSED = 0, 1, 2
STATE_NAMES = ("closed", "open", "half_open")
FORCED_NAMES = (None, "open", "closed")

#: How many buckets the sliding window is cut into.
BUCKETS = 10

# Modes of an event.
REPORT = "r"  # outcomes of calls admitted while closed
ACQUIRE = "a"  # ask for a trial permit (open past its reset timeout, or half-open)
TRIAL = "t"  # the outcome of a trial call
COMMAND = "c"  # an operator's action

# Outcomes of a trial, and operator actions (``outcome`` argument).
NEUTRAL, SUCCESS, FAILURE = 0, 1, 2
FORCE_OPEN, FORCE_CLOSE, RELEASE, RESET = 1, 2, 3, 4


@dataclass(frozen=True)
class Limits:
    """A breaker's options in the units the state machine uses (ms, counts, percent).

    ``0`` disables a threshold (``failure_threshold``, ``failure_rate``,
    ``slow_rate``).
    """

    window_ms: int
    failure_threshold: int
    failure_rate: float
    minimum_calls: int
    slow_rate: float
    reset_ms: int
    half_open_max: int
    success_threshold: int
    lease_ms: int
    ttl_ms: int

    def args(self) -> list[Arg]:
        """The limits as script arguments, in field order."""
        return list(dataclasses.astuple(self))

    @classmethod
    def from_args(cls, args: list[str]) -> Limits:
        """The limits back from script arguments (strings, as Redis passes them)."""
        fields = dataclasses.fields(cls)
        values: list[Any] = [
            float(arg) if f.type == "float" else int(arg)
            for f, arg in zip(fields, args, strict=True)
        ]
        return cls(*values)


def _effective(rec: dict[str, int]) -> int:
    return OPEN if rec["fo"] == FORCED_OPEN else rec["st"]


def step(
    rec: dict[str, int] | None,
    trials: dict[str, int],
    *,
    now: int,
    mode: str,
    calls: int = 0,
    failures: int = 0,
    slow: int = 0,
    token: str = "",
    outcome: int = NEUTRAL,
    limits: Limits,
) -> tuple[dict[str, int], list[int]]:
    """Apply one event; return the new record (``trials`` is changed in place) and the reply.

    The reply is ``[effective state, forced, state, opened_at, gen, calls,
    failures, slow, trial successes, trials in flight, granted, changed_from,
    fresh]``, ``changed_from`` being the effective state before the event when
    this event changed it, else ``-1``.
    """
    fresh = rec is None
    if rec is None:
        rec = {"st": CLOSED, "fo": NOT_FORCED, "oa": 0, "gen": 0, "hs": 0}
    bucket_ms = max(1, -(-limits.window_ms // BUCKETS))
    cur = now // bucket_ms
    oldest = cur - BUCKETS + 1
    for field in [k for k in rec if k[1:2] == ":" and int(k[2:]) < oldest]:
        del rec[field]
    for token_, deadline in list(trials.items()):
        if deadline <= now:
            del trials[token_]
    before = _effective(rec)
    granted = 0

    def clear_window() -> None:
        for field in [k for k in rec if k[1:2] == ":"]:
            del rec[field]

    def window() -> tuple[int, int, int]:
        sums = {"c": 0, "f": 0, "s": 0}
        for field, value in rec.items():
            if field[1:2] == ":":
                sums[field[0]] += value
        return sums["c"], sums["f"], sums["s"]

    def trip() -> None:
        rec["st"], rec["oa"], rec["hs"] = OPEN, now, 0
        clear_window()
        trials.clear()

    def close() -> None:
        rec["st"], rec["hs"] = CLOSED, 0
        clear_window()
        trials.clear()

    if mode == REPORT:
        if rec["st"] == CLOSED and rec["fo"] != FORCED_OPEN:
            for kind, amount in (("c", calls), ("f", failures), ("s", slow)):
                if amount:
                    field = f"{kind}:{cur}"
                    rec[field] = rec.get(field, 0) + amount
            wc, wf, ws = window()
            if rec["fo"] == NOT_FORCED and (
                (limits.failure_threshold > 0 and wf >= limits.failure_threshold)
                or (
                    limits.failure_rate > 0
                    and wc >= limits.minimum_calls
                    and wf * 100 >= limits.failure_rate * wc
                )
                or (
                    limits.slow_rate > 0
                    and wc >= limits.minimum_calls
                    and ws * 100 >= limits.slow_rate * wc
                )
            ):
                trip()
    elif mode == ACQUIRE:
        if rec["fo"] == FORCED_OPEN:
            pass
        elif rec["fo"] == FORCED_CLOSED or rec["st"] == CLOSED:
            granted = 1
        else:
            if rec["st"] == OPEN and now >= rec["oa"] + limits.reset_ms:
                rec["st"], rec["hs"] = HALF_OPEN, 0
                trials.clear()
            if rec["st"] == HALF_OPEN and len(trials) < limits.half_open_max:
                trials[token] = now + limits.lease_ms
                granted = 1
    elif mode == TRIAL:
        held = trials.pop(token, None) is not None
        if rec["st"] == HALF_OPEN and rec["fo"] == NOT_FORCED:
            if outcome == FAILURE:
                trip()
            elif outcome == SUCCESS and held:
                rec["hs"] += 1
                if rec["hs"] >= limits.success_threshold:
                    close()
    elif mode == COMMAND:
        if outcome == FORCE_OPEN:
            rec["fo"], rec["oa"] = FORCED_OPEN, now
        elif outcome == FORCE_CLOSE:
            rec["fo"] = FORCED_CLOSED
            close()
        elif outcome in (RELEASE, RESET):
            if outcome == RELEASE:
                rec["fo"] = NOT_FORCED
            close()
    else:
        raise ValueError(f"unknown breaker event mode {mode!r}")

    after = _effective(rec)
    changed_from = -1
    if after != before:
        rec["gen"] += 1
        changed_from = before
    wc, wf, ws = window()
    reply = [after, rec["fo"], rec["st"], rec["oa"], rec["gen"], wc, wf, ws]
    reply += [rec["hs"], len(trials), granted, changed_from, 1 if fresh else 0]
    return rec, reply
