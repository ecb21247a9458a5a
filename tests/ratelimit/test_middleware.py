"""RateLimitMiddleware: one limit per client IP, 429 with Retry-After, exemptions, proxies, outages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_stability.middleware import RateLimitMiddleware
from tests.http_modes import MODES
from tests.logcapture import capture_logs
from tests.ratelimit.conftest import close_engine, refused
from tests.ratelimit.support import fetch, unique_ip

pytestmark = pytest.mark.parametrize("mode", MODES)


async def _burst(
    mode: str, n: int, ip: str, path: str = "/api/ok", **extra: Any
) -> list[Any]:
    return [(await fetch(mode, path, ip=ip, **extra)) for _ in range(n)]


async def test_requests_over_the_limit_get_429_problem_with_retry_after(
    mode, limits, ip
):
    """Five requests a minute pass with RateLimit-* headers; the sixth is a 429 problem."""
    before = refused("global")
    responses = await _burst(mode, 6, ip)
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [r["RateLimit-Remaining"] for r in responses[:5]] == list("43210")
    assert {r["RateLimit-Limit"] for r in responses} == {"5"}
    last = responses[-1]
    assert last["Content-Type"] == "application/problem+json"
    assert last.json()["code"] == "rate_limited"
    assert last.json()["correlation_id"] == last["X-Correlation-ID"]
    assert last["Retry-After"] == "60"
    assert last["RateLimit-Remaining"] == "0"
    assert last["RateLimit-Reset"] == "60"
    assert refused("global") == before + 1


async def test_a_refusal_carries_the_app_version(mode, limits, ip, settings):
    """The 429 is answered before CacheHeadersMiddleware, and still says which release refused it."""
    settings.STABILITY_APP_VERSION = "7.0.1"
    last = (await _burst(mode, 6, ip))[-1]
    assert last.status_code == 429
    assert last["X-App-Version"] == "7.0.1"


async def test_the_101st_request_in_a_second_is_refused_for_one_second(
    mode, limits, ip
):
    """With the default 100/s, request 101 within the second gets 429 and Retry-After: 1."""
    with override_settings(STABILITY_RATELIMIT="100/s"):
        responses = await _burst(mode, 101, ip)
    assert [r.status_code for r in responses].count(200) == 100
    assert responses[-1].status_code == 429
    assert responses[-1]["Retry-After"] == "1"


async def test_retry_after_counts_down_and_the_next_window_admits_again(
    mode, limits, ip
):
    """Retry-After shrinks as the window runs out; once it ends, the client is served again."""
    await _burst(mode, 5, ip)
    limits.advance(45.5)
    late = await fetch(mode, "/api/ok", ip=ip)
    assert late.status_code == 429
    assert late["Retry-After"] == "15"
    limits.advance(15)
    again = await fetch(mode, "/api/ok", ip=ip)
    assert again.status_code == 200
    assert again["RateLimit-Remaining"] == "4"


async def test_other_clients_are_not_affected(mode, limits, ip):
    """A client over its limit does not use up another client's."""
    await _burst(mode, 6, ip)
    other = await fetch(mode, "/api/ok", ip=unique_ip())
    assert other.status_code == 200
    assert other["RateLimit-Remaining"] == "4"


async def test_ipv6_clients_in_one_slash_64_share_a_limit(mode, limits, ip):
    """Addresses of one IPv6 /64 count as one client, so rotating the host part does not help."""
    prefix = ip.rsplit("::", 1)[0]
    responses = [
        await fetch(mode, "/api/ok", ip=f"{prefix}::{n + 1:x}") for n in range(6)
    ]
    assert responses[-1].status_code == 429


async def test_exempt_prefixes_are_never_limited_nor_counted(mode, limits, ip):
    """Paths under STABILITY_RATELIMIT_EXEMPT pass however often, without RateLimit headers."""
    responses = await _burst(mode, 8, ip, path="/static/app.css")
    assert {r.status_code for r in responses} == {200}
    assert "RateLimit-Limit" not in responses[0]
    assert (await fetch(mode, "/api/ok", ip=ip))["RateLimit-Remaining"] == "4"


async def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    mode, limits, ip
):
    """A client cannot escape its limit by sending a new X-Forwarded-For each time."""
    responses = [
        await fetch(
            mode, "/api/ok", ip=ip, headers={"X-Forwarded-For": f"203.0.113.{n}"}
        )
        for n in range(6)
    ]
    assert responses[-1].status_code == 429


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(mode, limits):
    """Behind a trusted proxy, each forwarded client has its own limit."""
    client = unique_ip()
    with override_settings(STABILITY_TRUSTED_PROXIES=["10.0.0.0/8"]):
        first = await _burst(
            mode, 6, "10.1.2.3", headers={"X-Forwarded-For": f"{client}, 10.9.9.9"}
        )
        other = await fetch(
            mode, "/api/ok", ip="10.1.2.3", headers={"X-Forwarded-For": unique_ip()}
        )
    assert first[-1].status_code == 429
    assert other.status_code == 200


async def test_none_disables_the_limit(mode, limits, ip):
    """STABILITY_RATELIMIT = None limits nothing and adds no headers."""
    with override_settings(STABILITY_RATELIMIT=None):
        responses = await _burst(mode, 7, ip)
    assert {r.status_code for r in responses} == {200}
    assert "RateLimit-Limit" not in responses[-1]


@pytest.mark.redis
async def test_redis_counts_for_every_worker(mode, redis_limits, ip):
    """With Redis the count lives there: a new engine (another worker) continues it."""
    await _burst(mode, 3, ip)
    await close_engine()  # a second worker process would have an engine of its own
    responses = await _burst(mode, 3, ip)
    assert [r.status_code for r in responses] == [200, 200, 429]


async def test_redis_outage_fails_open_by_default(mode, limits, ip, redis_server):
    """Redis killed: requests keep flowing (counted per process), and the log says so."""
    with override_settings(STABILITY_REDIS_URL=redis_server.url):
        assert (await fetch(mode, "/api/ok", ip=ip)).status_code == 200
        redis_server.kill()
        with capture_logs() as logs:
            responses = await _burst(mode, 3, ip)
        await close_engine()
    assert {r.status_code for r in responses} == {200}
    assert logs.one("ratelimit_degraded")["fail_open"] is True


async def test_redis_outage_fails_closed_when_asked(mode, limits, ip, redis_server):
    """With FAIL_OPEN False, an outage answers 503 problems with Retry-After, and logs it."""
    before = refused("global", "unavailable")
    with override_settings(
        STABILITY_REDIS_URL=redis_server.url, STABILITY_RATELIMIT_FAIL_OPEN=False
    ):
        redis_server.kill()
        with capture_logs() as logs:
            response = await fetch(mode, "/api/ok", ip=ip)
        exempt = await fetch(mode, "/static/app.css", ip=ip)
        await close_engine()
    assert response.status_code == 503
    assert response.json()["code"] == "ratelimit_unavailable"
    assert int(response["Retry-After"]) >= 1
    assert logs.one("ratelimit_degraded")["fail_open"] is False
    assert exempt.status_code == 200
    assert refused("global", "unavailable") == before + 1


async def test_refused_requests_are_in_the_access_log(mode, limits, ip):
    """The 429 is logged by AccessLogMiddleware with its route unresolved and the client IP."""
    with capture_logs() as logs:
        await _burst(mode, 6, ip)
    line = logs.one("request", status=429)
    assert line["client_ip"] == ip


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": "100/minute"}, {"rate": 5}, {"exempt": "/static/"}, {"fail_open": 1}],
)
def test_bad_arguments_fail_at_startup(mode, kwargs):
    """A malformed rate, exemption list or flag is ImproperlyConfigured when built."""
    with pytest.raises(ImproperlyConfigured):
        RateLimitMiddleware(lambda request: None, **kwargs)


def test_bad_settings_fail_at_startup(mode):
    """A malformed STABILITY_RATELIMIT is ImproperlyConfigured when the middleware is built."""
    with (
        override_settings(STABILITY_RATELIMIT="lots"),
        pytest.raises(ImproperlyConfigured, match="STABILITY_RATELIMIT"),
    ):
        RateLimitMiddleware(lambda request: None)
