"""One call's decision, without I/O: the wait before a retry, and the hook into stamina's instrumentation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import stamina
from stamina.instrumentation import get_on_retry_hooks, set_on_retry_hooks

from django_stability.retry import Retry, RetryConfig
from django_stability.retry._budget import Spent, Tally
from django_stability.retry._core import (
    SPEND,
    STATE,
    VET,
    Call,
    _on_retry,
    install_hook,
)
from django_stability.state import Engine
from tests.clock import FakeClock
from tests.retry.support import Dependency


def decide(hook: Any, envelope: float = 0.8, **options: Any) -> Call:
    """A failed first attempt, decided with every I/O answered "go ahead"."""
    call = Call("n", RetryConfig(**options), hook, None, FakeClock(), Tally())
    call.failed, call.number, call.envelope = ConnectionError(), 1, envelope
    steps = call.deciding()
    answers = {VET: None, STATE: "closed", SPEND: Spent(True, 10, 1)}
    try:
        kind, _ = next(steps)
        while True:
            kind, _ = steps.send(answers[kind])
    except StopIteration:
        return call


def test_the_wait_is_full_jitter_under_stamina_s_backoff():
    """A retried failure waits a random time between 0 and stamina's backoff for that attempt."""
    waits = [decide(lambda exc: True).wait for _ in range(200)]
    assert all(w is not None and 0 <= w <= 0.8 for w in waits)
    assert min(w for w in waits if w is not None) < 0.2  # spread over the whole range,
    assert max(w for w in waits if w is not None) > 0.6  # not stamina's added jitter


def test_a_hook_may_name_the_wait():
    """A hook answering seconds or a timedelta (a Retry-After) sets the wait exactly."""
    assert decide(lambda exc: 2.5).wait == 2.5
    assert decide(lambda exc: dt.timedelta(seconds=1.5)).wait == 1.5
    assert decide(lambda exc: False).wait is None


def test_stamina_is_told_the_wait_only_for_the_failure_decided():
    """stamina's ``on`` hook gets the decided wait for that exception, ``False`` for any other."""
    call = decide(lambda exc: 1.0)
    assert call.verdict(call.failed) == 1.0  # type: ignore[arg-type]
    assert call.verdict(ConnectionError()) is False


def test_the_instrumentation_hook_joins_stamina_s_own():
    """Ours is added to stamina's retry hooks without removing the others, and again if they are replaced."""
    before = get_on_retry_hooks()
    try:
        install_hook()
        assert get_on_retry_hooks().count(_on_retry) == 1
        install_hook()
        assert get_on_retry_hooks().count(_on_retry) == 1
        set_on_retry_hooks([])
        install_hook()
        assert get_on_retry_hooks() == (_on_retry,)
    finally:
        set_on_retry_hooks(before)


def test_stamina_testing_mode_still_caps_attempts():
    """``stamina.set_testing()`` in a project's tests caps our attempts like any other."""
    dependency = Dependency()
    with stamina.set_testing(True, attempts=1), pytest.raises(ConnectionError):
        Retry("testing", engine=Engine()).call(dependency)
    assert dependency.calls == 1


def test_a_hook_answering_none_means_no_retry():
    """A hook that forgets to answer (None) retries nothing, as stamina treats it."""
    call = decide(lambda exc: None)
    assert (call.wait, call.outcome) == (None, None)
