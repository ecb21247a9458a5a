"""The HTTP helper against a real local HTTP server that answers, fails, hangs or is not there."""

from __future__ import annotations

import importlib
import sys

import httpx
import pytest

from django_stability.breakers import CircuitBreaker, CircuitOpenError
from django_stability.breakers.integrations import http
from django_stability.correlation import correlation_scope
from tests.breakers.integrations.conftest import fake_breaker
from tests.breakers.integrations.http_service import Service, http_service
from tests.clock import FakeClock
from tests.fixtures.redis_server import free_port

__all__ = ["http_service"]

SYNC = {
    "GET": http.get,
    "POST": http.post,
    "PUT": http.put,
    "PATCH": http.patch,
    "DELETE": http.delete,
}
ASYNC = {
    "GET": http.aget,
    "POST": http.apost,
    "PUT": http.aput,
    "PATCH": http.apatch,
    "DELETE": http.adelete,
}


@pytest.fixture
def guard(clock: FakeClock) -> CircuitBreaker:
    """The service's breaker: opens after two failures, tries again after 30 s."""
    return fake_breaker(clock, "payments", failure_threshold=2, reset_timeout=30)


@pytest.mark.parametrize("method", list(SYNC))
def test_sync_calls_send_the_correlation_id(
    http_service: Service, guard: CircuitBreaker, method: str
) -> None:
    """Each method reaches the service with the current correlation ID under every header name."""
    with correlation_scope("abc-123"):
        response = SYNC[method](f"{http_service.url}/ok", breaker=guard)
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == method
    assert seen["headers"]["x-correlation-id"] == "abc-123"
    assert seen["headers"]["x-request-id"] == "abc-123"


@pytest.mark.parametrize("method", list(ASYNC))
async def test_async_calls_send_the_correlation_id(
    http_service: Service, guard: CircuitBreaker, method: str
) -> None:
    """The async methods reach the service with the correlation ID too."""
    with correlation_scope("abc-456"):
        response = await ASYNC[method](f"{http_service.url}/ok", breaker=guard)
    assert response.json()["method"] == method
    assert response.json()["headers"]["x-correlation-id"] == "abc-456"


def test_caller_headers_win_and_kwargs_pass_through(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """The caller's own header replaces the correlation one; json= reaches the service."""
    with correlation_scope("abc"):
        response = http.post(
            f"{http_service.url}/ok",
            breaker=guard,
            headers={"X-Request-ID": "mine"},
            json={"amount": 5},
        )
    seen = response.json()
    assert seen["headers"]["x-request-id"] == "mine"
    assert seen["headers"]["x-correlation-id"] == "abc"
    assert seen["body"] == '{"amount":5}'


def test_server_errors_are_returned_counted_and_open_the_breaker(
    http_service: Service, guard: CircuitBreaker, clock: FakeClock
) -> None:
    """5xx answers come back as responses, count, and the open breaker stops calls before they leave."""
    for _ in range(2):
        assert http.get(f"{http_service.url}/fail", breaker=guard).status_code == 500
    assert guard.state == "open"
    with pytest.raises(CircuitOpenError):
        http.get(f"{http_service.url}/ok", breaker=guard)
    assert http_service.hits == 2
    clock.advance(31)
    assert http.get(f"{http_service.url}/ok", breaker=guard).status_code == 200
    assert guard.state == "closed"


async def test_async_server_errors_open_the_breaker(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """Async 5xx answers count the same way, and the open breaker refuses the next async call."""
    for _ in range(2):
        response = await http.aget(f"{http_service.url}/fail", breaker=guard)
        assert response.status_code == 500
    with pytest.raises(CircuitOpenError):
        await http.aget(f"{http_service.url}/ok", breaker=guard)
    assert http_service.hits == 2


async def test_client_errors_never_count(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """404s, sync or async, however many, leave the breaker closed."""
    for _ in range(3):
        assert http.get(f"{http_service.url}/missing", breaker=guard).status_code == 404
        response = await http.aget(f"{http_service.url}/missing", breaker=guard)
        assert response.status_code == 404
    assert guard.state == "closed"


def test_timeouts_are_raised_and_count(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """A hanging service raises httpx's timeout to the caller and opens the breaker."""
    for _ in range(2):
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"{http_service.url}/hang", breaker=guard, timeout=0.2)
    assert guard.state == "open"


async def test_async_timeouts_are_raised_and_count(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """The async helper raises the timeout too and counts it."""
    for _ in range(2):
        with pytest.raises(httpx.ReadTimeout):
            await http.aget(f"{http_service.url}/hang", breaker=guard, timeout=0.2)
    assert await guard.astate() == "open"


async def test_call_timeout_bounds_async_calls(
    http_service: Service, clock: FakeClock
) -> None:
    """The breaker's call_timeout cancels a hanging async call and counts it."""
    guard = fake_breaker(clock, failure_threshold=1, call_timeout=0.2)
    with pytest.raises(TimeoutError):
        await http.aget(f"{http_service.url}/hang", breaker=guard)
    assert await guard.astate() == "open"


async def test_unreachable_service_raises_connect_errors_that_count(
    guard: CircuitBreaker,
) -> None:
    """Nobody listening: ConnectError reaches the caller, sync and async, and the breaker opens."""
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(httpx.ConnectError):
        http.get(url, breaker=guard)
    with pytest.raises(httpx.ConnectError):
        await http.aget(url, breaker=guard)
    assert guard.state == "open"


def test_caller_mistakes_do_not_count(guard: CircuitBreaker) -> None:
    """An unsupported URL scheme is the caller's bug: raised, never counted."""
    for _ in range(3):
        with pytest.raises(httpx.UnsupportedProtocol):
            http.get("ftp://127.0.0.1/file", breaker=guard)
    assert guard.state == "closed"


async def test_given_clients_are_used(
    http_service: Service, guard: CircuitBreaker
) -> None:
    """A caller's Client / AsyncClient (its base_url, its pool) sends the request."""
    with httpx.Client(base_url=http_service.url) as client:
        assert http.get("/ok", breaker=guard, client=client).status_code == 200
    async with httpx.AsyncClient(base_url=http_service.url) as aclient:
        response = await http.aget("/fail", breaker=guard, client=aclient)
        assert response.status_code == 500
    assert guard.snapshot().failures == 1


def test_named_breakers_come_from_the_registry(http_service: Service) -> None:
    """A breaker given by name is the process's breaker of that name."""
    from django_stability.breakers import breaker

    http.get(f"{http_service.url}/ok", breaker="http-test-named")
    assert breaker("http-test-named").state == "closed"


def test_missing_httpx_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without httpx, importing the helper explains how to install it."""
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.delitem(sys.modules, "django_stability.breakers.integrations.http")
    with pytest.raises(ImportError, match=r"django-stability\[http\]"):
        importlib.import_module("django_stability.breakers.integrations.http")
