"""The HTTP helper under a deadline: a server that never answers in time is given up on when the time is up."""

from __future__ import annotations

import httpx
import pytest
from django.test import override_settings

from django_stability.breakers import breaker
from django_stability.breakers.integrations import http
from django_stability.deadline import HEADER, DeadlineExceeded, deadline
from tests.clock import FakeClock
from tests.deadline.support import (
    MIDDLEWARE,
    TARGET,
    recording_server,
    silent_server,
)
from tests.http_modes import MODES, fetch


@pytest.fixture
def silent():
    with silent_server() as url:
        TARGET["url"] = url
        yield url


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/api/http/", "/api/async/http/"])
@override_settings(
    ROOT_URLCONF="tests.deadline.support",
    MIDDLEWARE=MIDDLEWARE,
    STABILITY_DEADLINES={"/api/": 0.5},
)
async def test_a_call_to_a_silent_server_ends_at_the_deadline(mode, path, silent):
    """The view asks for a 30 s timeout; the request's 0.5 s deadline wins: 504 deadline_exceeded."""
    response = await fetch(mode, "get", path)
    assert response.status_code == 504
    assert response.json()["code"] == "deadline_exceeded"


def test_the_breaker_does_not_count_a_deadline_as_a_failure(silent):
    """A call cut short by the caller's own deadline says nothing about the service."""
    with pytest.raises(DeadlineExceeded) as stopped, deadline(0.3):
        http.get(silent, breaker="silent-count", timeout=30)
    assert isinstance(stopped.value.__cause__, httpx.TimeoutException)
    assert breaker("silent-count").snapshot().failures == 0


async def test_nothing_is_sent_once_the_deadline_has_passed(silent):
    """With no time left the call is refused before any connection is made."""
    clock = FakeClock()
    with deadline(1, clock=clock):
        clock.advance(1)
        with pytest.raises(DeadlineExceeded):
            await http.aget(silent, breaker="silent-refused")
        with pytest.raises(DeadlineExceeded):
            http.get(silent, breaker="silent-refused")


def test_without_a_deadline_the_callers_timeout_holds(silent):
    """Outside a deadline the helper keeps the timeout it was given."""
    with pytest.raises(httpx.ReadTimeout):
        http.get(silent, breaker="silent-plain", timeout=0.2)


def test_a_shorter_timeout_than_the_deadline_is_the_services_fault(silent):
    """When the caller's own timeout is the shorter, it raises as usual and counts for the breaker."""
    with deadline(30), pytest.raises(httpx.ReadTimeout):
        http.get(silent, breaker="silent-short", timeout=0.2)
    assert breaker("silent-short").snapshot().failures == 1


def test_the_time_left_travels_to_the_next_service():
    """The request carries X-Request-Timeout with the seconds left; a caller's own value wins."""
    clock = FakeClock()
    with recording_server() as (url, seen):
        http.get(url, breaker="next")
        with deadline(8, clock=clock):
            clock.advance(0.5)
            http.get(url, breaker="next")
            http.get(url, breaker="next", headers={HEADER: "1"})
    assert seen == [None, "7.500", "1"]
