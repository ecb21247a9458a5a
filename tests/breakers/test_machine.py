"""The pure state machine: every transition and every option, with explicit times."""

from __future__ import annotations

from typing import Any

import pytest

from django_stability.breakers import BreakerConfig
from django_stability.breakers import _machine as m


def limits(**options: Any) -> m.Limits:
    return BreakerConfig.from_options("b", options).limits()


class Machine:
    """Drives ``step`` like the store does: one record, one permit set, a clock in ms."""

    def __init__(self, **options: Any) -> None:
        self.limits = limits(**options)
        self.rec: dict[str, int] | None = None
        self.trials: dict[str, int] = {}
        self.now = 1_000_000

    def __call__(self, mode: str, **event: Any) -> list[int]:
        self.rec, reply = m.step(
            self.rec, self.trials, now=self.now, mode=mode, limits=self.limits, **event
        )
        return reply

    def fail(self, n: int = 1) -> list[int]:
        reply: list[int] = []
        for _ in range(n):
            reply = self(m.REPORT, calls=1, failures=1)
        return reply

    @property
    def state(self) -> int:
        return self(m.REPORT)[0]


def test_first_event_creates_a_closed_record_and_says_it_is_fresh():
    """A breaker never seen before starts closed, and the reply flags the new record."""
    machine = Machine()
    assert machine(m.REPORT)[0] == m.CLOSED
    assert machine(m.REPORT)[-1] == 0
    assert Machine()(m.REPORT)[-1] == 1


def test_failure_threshold_opens_within_the_window():
    """``failure_threshold`` failures inside ``window`` open the breaker; the reply names the change."""
    machine = Machine(failure_threshold=3, window=10)
    machine.fail(2)
    assert machine.state == m.CLOSED
    reply = machine.fail()
    assert reply[0] == m.OPEN
    assert reply[11] == m.CLOSED  # changed_from
    assert reply[3] == machine.now  # opened_at


def test_failures_older_than_the_window_no_longer_count():
    """Failures slide out of the window: spread thinly enough, they never open it."""
    machine = Machine(failure_threshold=3, window=10)
    for _ in range(10):
        machine.fail()
        machine.now += 6_000
    assert machine.state == m.CLOSED


def test_failure_rate_needs_minimum_calls():
    """A failure rate is judged only after ``minimum_calls`` calls in the window."""
    machine = Machine(failure_rate=50, minimum_calls=10, window=60)
    machine.fail(4)
    assert machine.state == m.CLOSED  # 4 of 4 failed, but only 4 calls
    machine(m.REPORT, calls=5)
    assert machine.state == m.CLOSED  # 4 of 9
    reply = machine(m.REPORT, calls=1, failures=1)
    assert reply[0] == m.OPEN  # 5 of 10 = 50 %


def test_failure_rate_below_the_threshold_stays_closed():
    """49 % failures with a 50 % threshold keep the breaker closed, whatever the count."""
    machine = Machine(failure_rate=50, minimum_calls=10)
    machine(m.REPORT, calls=100, failures=49)
    assert machine.state == m.CLOSED
    assert machine(m.REPORT)[5:7] == [100, 49]


def test_failure_rate_alone_disables_the_default_threshold():
    """With only ``failure_rate`` set, five failures among many successes do not open it."""
    machine = Machine(failure_rate=50)
    machine(m.REPORT, calls=100, failures=10)
    assert machine.state == m.CLOSED


def test_slow_call_rate_opens():
    """Slow calls at ``slow_call_rate`` percent of at least ``minimum_calls`` open the breaker."""
    machine = Machine(slow_call_seconds=1, slow_call_rate=30, minimum_calls=10)
    machine(m.REPORT, calls=10, slow=2)
    assert machine.state == m.CLOSED
    assert machine(m.REPORT, calls=0, slow=1)[0] == m.OPEN


def test_slow_call_seconds_alone_means_every_call_slow():
    """Without ``slow_call_rate`` the rate defaults to 100 %: only all-slow traffic opens."""
    machine = Machine(slow_call_seconds=1, minimum_calls=4)
    machine(m.REPORT, calls=4, slow=3)
    assert machine.state == m.CLOSED
    assert machine(m.REPORT, calls=1, slow=2)[0] == m.OPEN


def test_open_refuses_trials_until_the_reset_timeout():
    """An open breaker grants no permit before ``reset_timeout``, then moves to half-open."""
    machine = Machine(failure_threshold=1, reset_timeout=30)
    machine.fail()
    machine.now += 29_999
    assert machine(m.ACQUIRE, token="a")[10] == 0
    machine.now += 1
    reply = machine(m.ACQUIRE, token="a")
    assert reply[0] == m.HALF_OPEN and reply[10] == 1 and reply[11] == m.OPEN


def test_half_open_caps_trials_in_flight():
    """``half_open_max_calls`` permits at once; a finished trial frees its permit."""
    machine = Machine(
        failure_threshold=1, reset_timeout=1, half_open_max_calls=2, success_threshold=5
    )
    machine.fail()
    machine.now += 1_000
    assert [machine(m.ACQUIRE, token=t)[10] for t in "abc"] == [1, 1, 0]
    assert machine(m.TRIAL, token="a", outcome=m.SUCCESS)[9] == 1
    assert machine(m.ACQUIRE, token="c")[10] == 1


def test_success_threshold_closes_and_clears_the_window():
    """``success_threshold`` successful trials close the breaker with fresh counters."""
    machine = Machine(failure_threshold=1, reset_timeout=1, success_threshold=2)
    machine.fail()
    machine.now += 1_000
    machine(m.ACQUIRE, token="a")
    assert machine(m.TRIAL, token="a", outcome=m.SUCCESS)[0] == m.HALF_OPEN
    machine(m.ACQUIRE, token="b")
    reply = machine(m.TRIAL, token="b", outcome=m.SUCCESS)
    assert reply[0] == m.CLOSED and reply[11] == m.HALF_OPEN
    assert reply[5:8] == [0, 0, 0]


def test_a_failed_trial_reopens_with_a_new_opened_at():
    """One failing trial sends the breaker back to open, its reset timeout counted from now."""
    machine = Machine(failure_threshold=1, reset_timeout=10)
    machine.fail()
    machine.now += 10_000
    machine(m.ACQUIRE, token="a")
    reply = machine(m.TRIAL, token="a", outcome=m.FAILURE)
    assert reply[0] == m.OPEN and reply[3] == machine.now


def test_a_neutral_trial_frees_its_permit_without_counting():
    """An excluded or cancelled trial releases its permit and neither closes nor reopens."""
    machine = Machine(failure_threshold=1, reset_timeout=1)
    machine.fail()
    machine.now += 1_000
    machine(m.ACQUIRE, token="a")
    reply = machine(m.TRIAL, token="a", outcome=m.NEUTRAL)
    assert reply[0] == m.HALF_OPEN and reply[8:10] == [0, 0]


def test_a_success_with_an_unknown_permit_does_not_count():
    """A trial whose permit expired (or was never granted) cannot close the breaker."""
    machine = Machine(failure_threshold=1, reset_timeout=1)
    machine.fail()
    machine.now += 1_000
    machine(m.ACQUIRE, token="a")
    assert machine(m.TRIAL, token="zzz", outcome=m.SUCCESS)[0] == m.HALF_OPEN


def test_a_dead_trials_permit_expires_after_its_lease():
    """A permit held by a worker that died is freed after the lease (``reset_timeout``)."""
    machine = Machine(failure_threshold=1, reset_timeout=5)
    machine.fail()
    machine.now += 5_000
    machine(m.ACQUIRE, token="dead")
    assert machine(m.ACQUIRE, token="b")[10] == 0
    machine.now += 5_000
    assert machine(m.ACQUIRE, token="b")[10] == 1


def test_late_reports_do_not_count_while_open():
    """Outcomes of calls admitted before the breaker opened are ignored once it is open."""
    machine = Machine(failure_threshold=1, reset_timeout=60)
    machine.fail()
    machine(m.REPORT, calls=50, failures=10)
    assert machine(m.REPORT)[5:7] == [0, 0]


def test_forced_open_refuses_everything_until_released():
    """Forced OPEN grants nothing, even past the reset timeout; release closes with fresh counters."""
    machine = Machine(reset_timeout=1)
    reply = machine(m.COMMAND, outcome=m.FORCE_OPEN)
    assert reply[0] == m.OPEN and reply[1] == m.FORCED_OPEN
    machine.now += 60_000
    assert machine(m.ACQUIRE, token="a")[10] == 0
    reply = machine(m.COMMAND, outcome=m.RELEASE)
    assert reply[0:2] == [m.CLOSED, m.NOT_FORCED]


def test_forced_closed_admits_and_never_trips():
    """Forced CLOSED admits every call and ignores any number of failures (still counted)."""
    machine = Machine(failure_threshold=1)
    machine.fail()
    reply = machine(m.COMMAND, outcome=m.FORCE_CLOSE)
    assert reply[0:2] == [m.CLOSED, m.FORCED_CLOSED]
    reply = machine.fail(20)
    assert reply[0] == m.CLOSED and reply[6] == 20
    assert machine(m.ACQUIRE, token="a")[10] == 1


def test_reset_clears_counters_and_keeps_a_forced_state():
    """``reset`` closes the breaker and empties the window; a forced OPEN stays forced."""
    machine = Machine(failure_threshold=10)
    machine.fail(3)
    reply = machine(m.COMMAND, outcome=m.RESET)
    assert reply[0] == m.CLOSED and reply[5:7] == [0, 0]
    machine(m.COMMAND, outcome=m.FORCE_OPEN)
    assert machine(m.COMMAND, outcome=m.RESET)[0:2] == [m.OPEN, m.FORCED_OPEN]


def test_generation_counts_effective_changes_only():
    """``gen`` moves on each change of the effective state and on nothing else."""
    machine = Machine(failure_threshold=2)
    machine.fail()
    assert machine(m.REPORT)[4] == 0
    machine.fail()
    assert machine(m.REPORT)[4] == 1
    machine(m.COMMAND, outcome=m.FORCE_OPEN)  # already open: no change
    assert machine(m.REPORT)[4] == 1


def test_unknown_mode_is_refused():
    """A mode the machine does not know is a programming error, not a silent no-op."""
    with pytest.raises(ValueError, match="mode"):
        Machine()("?")
