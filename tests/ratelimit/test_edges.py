"""Edge cases of the rate limits: odd addresses, every key and rate form, outages under the decorator."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from django_stability.checks._rates import Rate
from django_stability.middleware import RateLimitMiddleware
from django_stability.ratelimit import ratelimit
from django_stability.ratelimit._core import ip_value
from tests.http_modes import MODES
from tests.logcapture import capture_logs
from tests.ratelimit.conftest import close_engine, refused
from tests.ratelimit.support import CLOCK, MIDDLEWARE, fetch, hello


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _call(view: Any, n: int, **meta: Any) -> list[int]:
    factory = RequestFactory()
    return [view(factory.post("/", **meta)).status_code for _ in range(n)]


@pytest.mark.parametrize(
    ("address", "counted"),
    [
        ("", "unknown"),
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2a00:1450:4001:81c::200e", "2a00:1450:4001:81c::/64"),
        ("not:an:address", "not:an:address"),
        # IPv4-mapped (a dual-stack listener's IPv4 peers) is IPv4, never '::/64'.
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::ffff:c000:202", "192.0.2.2"),
        # Outside global unicast a /64 is shared by many hosts: the full address.
        ("::1", "::1"),
        ("fe80::1:2", "fe80::1:2"),
        ("fd12:3456:789a:1::5", "fd12:3456:789a:1::5"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ),
    ],
)
def test_addresses_are_counted_in_a_stable_form(address, counted):
    """'unknown' when missing; IPv4-mapped as IPv4; global IPv6 per /64, other IPv6 in full."""
    assert ip_value(address) == counted


def test_the_default_middleware_counts_on_the_wall_clock(limits):
    """Built by Django from MIDDLEWARE without arguments, the limit works on real time."""
    stack = [
        m if "Clocked" not in m else "django_stability.middleware.RateLimitMiddleware"
        for m in MIDDLEWARE
    ]
    from django.test import Client

    with override_settings(MIDDLEWARE=stack, STABILITY_RATELIMIT="2/h"):
        client = Client()
        codes = [
            client.get("/api/ok", REMOTE_ADDR="192.0.2.77").status_code
            for _ in range(3)
        ]
    assert codes == [200, 200, 429]


def test_exempt_prefixes_must_be_paths():
    """An exemption that does not start with '/' is refused when the middleware is built."""
    with pytest.raises(ImproperlyConfigured, match="starting with '/'"):
        RateLimitMiddleware(_ok, exempt=["static/"])


def test_a_callable_key_and_a_rate_object(limits):
    """key may be any callable of (group, request); rate may be a Rate."""
    view = ratelimit(
        key=lambda group, request: "one-bucket", rate=Rate(2, 60), clock=CLOCK
    )(_ok)
    assert _call(view, 3, REMOTE_ADDR="192.0.2.1") == [200, 200, 429]


def test_a_rate_callable_may_lift_the_limit(limits):
    """A rate callable returning None means no limit for that request."""
    view = ratelimit(key="ip", rate=lambda group, request: None, clock=CLOCK)(_ok)
    assert _call(view, 5, REMOTE_ADDR="192.0.2.2") == [200] * 5


@pytest.mark.parametrize(
    ("key", "meta", "other"),
    [
        ("post:account", {"data": {"account": "a1"}}, {"data": {"account": "a2"}}),
        ("header:x-api-key", {"HTTP_X_API_KEY": "k1"}, {"HTTP_X_API_KEY": "k2"}),
    ],
)
def test_form_and_header_keys_count_each_value(limits, key, meta, other):
    """post:<name> and header:<name> give each value its own counter."""
    view = ratelimit(key=key, rate="1/m", group=f"edge-{key}", clock=CLOCK)(_ok)
    factory = RequestFactory()
    assert [view(factory.post("/", **meta)).status_code for _ in range(2)] == [200, 429]
    assert view(factory.post("/", **other)).status_code == 200


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_decorated_views_fail_closed_when_asked(
    mode, kind, limits, ip, redis_server
):
    """With FAIL_OPEN False and Redis down, a limited view answers a 503 problem."""
    before = refused("shared", "unavailable")
    with override_settings(
        STABILITY_REDIS_URL=redis_server.url,
        STABILITY_RATELIMIT=None,
        STABILITY_RATELIMIT_FAIL_OPEN=False,
    ):
        redis_server.kill()
        with capture_logs() as logs:
            response = await fetch(mode, f"/{kind}/shared-a", ip=ip)
        await close_engine()
    assert response.status_code == 503
    assert response["Retry-After"]
    assert logs.one("ratelimit_degraded")["fail_open"] is False
    assert refused("shared", "unavailable") == before + 1


@pytest.mark.parametrize("mode", MODES)
async def test_decorated_views_fail_open_by_default(mode, limits, ip, redis_server):
    """Redis down: a limited view keeps answering, counted in this process."""
    with override_settings(
        STABILITY_REDIS_URL=redis_server.url, STABILITY_RATELIMIT=None
    ):
        redis_server.kill()
        codes = [(await fetch(mode, "/async/ip", ip=ip)).status_code for _ in range(4)]
        await close_engine()
    assert codes == [200, 200, 200, 429]


def test_views_keep_their_name_and_module():
    """The decorator keeps the view's identity (for URL reversing by dotted path, admin docs)."""
    view = ratelimit(rate="1/s")(hello)
    assert (view.__name__, view.__module__) == ("hello", "tests.ratelimit.support")
