"""The outage bookkeeping: one probe at a time, one log line per transition."""

from __future__ import annotations

from django_stability.state._availability import Availability, describe
from tests.clock import FakeClock
from tests.state.conftest import LogRecords


def make(clock: FakeClock) -> tuple[Availability, list[str]]:
    recovered: list[str] = []
    avail = Availability(
        clock=clock,
        retry_after=1,
        max_retry_after=8,
        target="redis://x",
        on_recover=lambda: recovered.append("x"),
    )
    return avail, recovered


def test_only_one_caller_probes_while_redis_is_down(clock: FakeClock) -> None:
    """After the backoff exactly one call is let through to Redis; the others stay local."""
    avail, _ = make(clock)
    avail.failed(ConnectionError("refused"), probe=False)
    assert avail.admit() is None
    clock.advance(1)
    assert avail.admit() is True
    assert avail.admit() is None  # the probe is in flight
    avail.release()
    assert avail.admit() is True


def test_two_forced_probes_recover_once(
    clock: FakeClock, state_log: LogRecords
) -> None:
    """Two health pings racing through an outage end it once: one INFO line, one flush."""
    avail, recovered = make(clock)
    avail.failed(ConnectionError("refused"), probe=False)
    first, second = avail.admit(force=True), avail.admit(force=True)
    avail.succeeded(bool(first))
    avail.succeeded(bool(second))
    assert recovered == ["x"]
    assert state_log.levels() == ["WARNING", "INFO"]


def test_a_non_probe_success_does_not_end_an_outage(clock: FakeClock) -> None:
    """A slow call that started before the outage and answered after it does not flip the state back."""
    avail, recovered = make(clock)
    avail.failed(TimeoutError("slow"), probe=False)
    avail.succeeded(False)
    assert avail.down is True
    assert recovered == []


def test_error_descriptions_are_bounded() -> None:
    """A huge error message is cut, so status pages and logs stay readable."""
    text = describe(ConnectionError("x" * 10_000))
    assert len(text) == 300
    assert text.startswith("ConnectionError: xxx")
    assert text.endswith("…")
