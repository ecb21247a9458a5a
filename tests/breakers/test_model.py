"""The state machine against a plain reference model, driven by Hypothesis.

The reference keeps every counted call with its bucket and recomputes everything
from scratch at each step: slow but obviously right. Hypothesis drives both with
the same random events and times and compares every reply.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from django_stability.breakers import BreakerConfig
from django_stability.breakers import _machine as m

TOKENS = st.sampled_from(["a", "b", "c", "d"])


class Reference:
    """The breaker as the docs describe it, written without the machine's shortcuts."""

    def __init__(self, config: BreakerConfig) -> None:
        self.c = config
        self.state = "closed"
        self.forced: str | None = None
        self.opened_at = 0
        self.trial_successes = 0
        self.permits: dict[str, int] = {}  # token -> expiry (ms)
        self.counted: list[
            tuple[int, int, int, int]
        ] = []  # (bucket, calls, failures, slow)
        self.bucket_ms = -(-int(config.window * 1000) // 10)

    def effective(self) -> str:
        return "open" if self.forced == "open" else self.state

    def window(self, now: int) -> tuple[int, int, int]:
        current = now // self.bucket_ms
        live = [e for e in self.counted if e[0] > current - 10]
        return sum(e[1] for e in live), sum(e[2] for e in live), sum(e[3] for e in live)

    def expire(self, now: int) -> None:
        self.permits = {t: x for t, x in self.permits.items() if x > now}

    def open_(self, now: int) -> None:
        self.state, self.opened_at, self.trial_successes = "open", now, 0
        self.counted, self.permits = [], {}

    def close(self) -> None:
        self.state, self.trial_successes = "closed", 0
        self.counted, self.permits = [], {}

    def report(self, now: int, calls: int, failures: int, slow: int) -> None:
        if self.state != "closed" or self.forced == "open":
            return
        self.counted.append((now // self.bucket_ms, calls, failures, slow))
        if self.forced == "closed":
            return
        total, failed, slowed = self.window(now)
        c = self.c
        by_count = c.failure_threshold is not None and failed >= c.failure_threshold
        enough = total >= c.minimum_calls
        by_rate = (
            c.failure_rate is not None
            and enough
            and failed / total * 100 >= c.failure_rate
        )
        slow_rate = c.slow_call_rate if c.slow_call_seconds is not None else None
        by_slow = slow_rate is not None and enough and slowed / total * 100 >= slow_rate
        if by_count or by_rate or by_slow:
            self.open_(now)

    def acquire(self, now: int, token: str) -> bool:
        if self.forced == "open":
            return False
        if self.forced == "closed" or self.state == "closed":
            return True
        reset_ms = int(self.c.reset_timeout * 1000)
        if self.state == "open" and now - self.opened_at >= reset_ms:
            self.state, self.trial_successes, self.permits = "half_open", 0, {}
        if self.state == "half_open" and len(self.permits) < self.c.half_open_max_calls:
            self.permits[token] = now + reset_ms
            return True
        return False

    def trial(self, now: int, token: str, outcome: int) -> None:
        held = self.permits.pop(token, None) is not None
        if self.state != "half_open" or self.forced is not None:
            return
        if outcome == m.FAILURE:
            self.open_(now)
        elif outcome == m.SUCCESS and held:
            self.trial_successes += 1
            if self.trial_successes >= self.c.success_threshold:
                self.close()

    def command(self, now: int, action: int) -> None:
        if action == m.FORCE_OPEN:
            self.forced, self.opened_at = "open", now
        elif action == m.FORCE_CLOSE:
            self.forced = "closed"
            self.close()
        else:
            if action == m.RELEASE:
                self.forced = None
            self.close()


CONFIGS = st.fixed_dictionaries(
    {},
    optional={
        "failure_threshold": st.integers(1, 6),
        "failure_rate": st.sampled_from([20, 50, 75.5, 100]),
        "minimum_calls": st.integers(1, 8),
        "window": st.sampled_from([0.5, 1, 3, 10]),
        "slow_call_seconds": st.just(1),
        "slow_call_rate": st.sampled_from([30, 60, 100]),
        "reset_timeout": st.sampled_from([0.2, 1, 5]),
        "half_open_max_calls": st.integers(1, 3),
        "success_threshold": st.integers(1, 3),
    },
)


class BreakerModel(RuleBasedStateMachine):
    @initialize(options=CONFIGS)
    def setup(self, options: dict[str, Any]) -> None:
        self.config = BreakerConfig.from_options("model", options)
        self.ref = Reference(self.config)
        self.limits = self.config.limits()
        self.rec: dict[str, int] | None = None
        self.trials: dict[str, int] = {}
        self.now = 1_000_000_000
        self.reply: list[int] = []

    def step(self, mode: str, **event: Any) -> list[int]:
        self.rec, self.reply = m.step(
            self.rec, self.trials, now=self.now, mode=mode, limits=self.limits, **event
        )
        return self.reply

    @rule(ms=st.sampled_from([0, 1, 99, 100, 250, 999, 1000, 4000, 12000]))
    def advance(self, ms: int) -> None:
        self.now += ms
        self.ref.expire(self.now)

    @rule(calls=st.integers(0, 4), data=st.data())
    def report(self, calls: int, data: st.DataObject) -> None:
        failures = data.draw(st.integers(0, calls))
        slow = data.draw(st.integers(0, calls))
        self.step(m.REPORT, calls=calls, failures=failures, slow=slow)
        self.ref.report(self.now, calls, failures, slow)

    @rule(token=TOKENS)
    def acquire(self, token: str) -> None:
        granted = self.step(m.ACQUIRE, token=token)[10]
        assert bool(granted) == self.ref.acquire(self.now, token)

    @rule(token=TOKENS, outcome=st.sampled_from([m.NEUTRAL, m.SUCCESS, m.FAILURE]))
    def trial(self, token: str, outcome: int) -> None:
        self.step(m.TRIAL, token=token, outcome=outcome)
        self.ref.trial(self.now, token, outcome)

    @rule(action=st.sampled_from([m.FORCE_OPEN, m.FORCE_CLOSE, m.RELEASE, m.RESET]))
    def command(self, action: int) -> None:
        self.step(m.COMMAND, outcome=action)
        self.ref.command(self.now, action)

    @invariant()
    def agrees(self) -> None:
        if not self.reply:
            return
        reply = self.step(m.REPORT)  # a read: an empty report changes nothing
        names = {m.CLOSED: "closed", m.OPEN: "open", m.HALF_OPEN: "half_open"}
        assert names[reply[0]] == self.ref.effective()
        assert m.FORCED_NAMES[reply[1]] == self.ref.forced
        assert tuple(reply[5:8]) == self.ref.window(self.now)
        assert reply[8] == self.ref.trial_successes
        assert reply[9] == len(self.ref.permits)
        if self.ref.effective() == "open":
            assert reply[3] == self.ref.opened_at


TestBreakerModel = BreakerModel.TestCase
TestBreakerModel.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
