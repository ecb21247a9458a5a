"""The HTTP helper with ``retry=``: idempotent requests tried again on 429/502/503/504 and transport failures."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from django_stability.breakers import CircuitBreaker, CircuitOpenError
from django_stability.breakers.integrations import http
from django_stability.breakers.integrations._http_retry import retry_after
from tests.breakers.integrations.conftest import fake_breaker
from tests.clock import FakeClock
from tests.fixtures.redis_server import free_port

NO_WAIT = {"attempts": 3, "wait_initial": 0, "wait_max": 0, "budget": None}


class Scripted(ThreadingHTTPServer):
    """A local HTTP server answering each request with the next (status, headers) of its script, then 200."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple[int, dict[str, str]]] = []
        self.methods: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _answer(self) -> None:
        self.server.methods.append(self.command)
        status, headers = self.server.script.pop(0) if self.server.script else (200, {})
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(status)
        for header, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(header, value)
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@pytest.fixture
def service() -> Iterator[Scripted]:
    server = Scripted()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def guard(clock: FakeClock) -> CircuitBreaker:
    """The service's breaker, patient enough not to open in these tests unless told."""
    return fake_breaker(clock, "payments", failure_threshold=50)


@pytest.fixture(autouse=True)
def retries(settings: Any) -> None:
    settings.STABILITY_RETRIES = {"payments": NO_WAIT}


async def send(
    asynchronous: bool, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    if asynchronous:
        return await http.arequest(method, url, **kwargs)
    return http.request(method, url, **kwargs)


MODES = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


@MODES
@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_a_passing_failure_is_retried_until_the_answer(
    service, guard, asynchronous, status
):
    """Two answers worth retrying, then 200: three requests sent, the 200 returned."""
    service.script = [(status, {}), (status, {})]
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert response.status_code == 200
    assert service.methods == ["GET"] * 3


@MODES
async def test_the_last_answer_is_returned_when_attempts_run_out(
    service, guard, asynchronous
):
    """Still 503 after every attempt: that 503 is returned, as without retries."""
    service.script = [(503, {})] * 5
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert response.status_code == 503
    assert len(service.methods) == 3


@MODES
@pytest.mark.parametrize("status", [500, 404, 400])
async def test_other_answers_are_not_retried(service, guard, asynchronous, status):
    """A 500 (a bug, most likely) or a 4xx other than 429 is returned at once."""
    service.script = [(status, {})]
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert response.status_code == status
    assert len(service.methods) == 1


@MODES
async def test_unsafe_methods_are_retried_only_when_said_idempotent(
    service, guard, asynchronous
):
    """A POST is sent once; ``idempotent=True`` (an idempotency key, say) lets it be retried."""
    service.script = [(503, {}), (503, {})]
    once = await send(
        asynchronous, "POST", service.url, breaker=guard, retry="payments", json={}
    )
    assert (once.status_code, service.methods) == (503, ["POST"])
    again = await send(
        asynchronous,
        "POST",
        service.url,
        breaker=guard,
        retry="payments",
        idempotent=True,
        json={},
    )
    assert (again.status_code, service.methods) == (200, ["POST"] * 3)


@MODES
async def test_idempotent_false_forbids_retrying_a_get(service, guard, asynchronous):
    """``idempotent=False`` keeps even a GET to one request."""
    service.script = [(503, {})]
    response = await send(
        asynchronous,
        "GET",
        service.url,
        breaker=guard,
        retry="payments",
        idempotent=False,
    )
    assert (response.status_code, len(service.methods)) == (503, 1)


@MODES
@pytest.mark.parametrize("status", [429, 503])
async def test_a_retry_after_within_wait_max_is_honoured(
    service, guard, asynchronous, status
):
    """``Retry-After: 0`` (at most ``wait_max``): tried again."""
    service.script = [(status, {"Retry-After": "0"})]
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert (response.status_code, len(service.methods)) == (200, 2)


@MODES
@pytest.mark.parametrize("status", [429, 503])
async def test_a_longer_retry_after_ends_the_retries(
    service, guard, asynchronous, status
):
    """Asked to wait longer than ``wait_max`` allows: the answer is returned now, not retried early."""
    service.script = [(status, {"Retry-After": "3600"})]
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert (response.status_code, len(service.methods)) == (status, 1)
    assert response.headers["Retry-After"] == "3600"


def test_retry_after_reads_seconds_and_dates():
    """Seconds or an HTTP date, on 429 and 503 only; a past date is 0, a malformed value None."""

    def answer(status: int, value: str) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": value})

    now = 1_800_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)
    earlier = email.utils.formatdate(now - 30, usegmt=True)
    assert retry_after(answer(429, "120"), now) == 120.0
    assert retry_after(answer(503, later), now) == 30.0
    assert retry_after(answer(503, earlier), now) == 0.0
    assert retry_after(answer(503, "soon"), now) is None
    assert retry_after(answer(502, "120"), now) is None
    assert retry_after(httpx.Response(429), now) is None


@MODES
async def test_retries_stop_once_the_breaker_opens(
    service, clock, asynchronous, settings
):
    """A breaker opening on the 2nd failure ends the retries: the 2nd 503 is returned, no 3rd request."""
    settings.STABILITY_RETRIES = {"payments": {**NO_WAIT, "attempts": 10}}
    guard = fake_breaker(clock, "payments", failure_threshold=2)
    service.script = [(503, {})] * 10
    response = await send(
        asynchronous, "GET", service.url, breaker=guard, retry="payments"
    )
    assert (response.status_code, len(service.methods)) == (503, 2)
    assert guard.state == "open"
    with pytest.raises(CircuitOpenError):  # the next call is refused, and not retried
        await send(asynchronous, "GET", service.url, breaker=guard, retry="payments")
    assert len(service.methods) == 2


@MODES
async def test_transport_failures_are_retried_then_raised(guard, asynchronous):
    """Nobody listens: each attempt fails to connect, and the last ConnectError is raised."""
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(httpx.ConnectError):
        await send(asynchronous, "GET", url, breaker=guard, retry="payments")
    assert guard.snapshot().failures == 3


@MODES
async def test_without_retry_nothing_changes(service, guard, asynchronous):
    """No ``retry``: one request, its 503 returned."""
    service.script = [(503, {})]
    response = await send(asynchronous, "GET", service.url, breaker=guard)
    assert (response.status_code, len(service.methods)) == (503, 1)
