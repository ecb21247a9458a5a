"""GET stability/metrics: token or loopback, Prometheus text with the stability_* metrics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import override_settings

from django_stability.breakers import BreakerConfig, CircuitBreaker
from django_stability.state import Engine
from tests.exposition import value
from tests.http_modes import MODES
from tests.ratelimit.support import fetch, unique_ip

pytestmark = pytest.mark.parametrize("mode", MODES)

URL = "/stability/metrics"


async def _scrape(mode: str, **extra: Any) -> str:
    response = await fetch(mode, URL, ip="127.0.0.1", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return str(response.content.decode())


async def test_requests_are_counted_by_method_route_and_status(mode):
    """One request to /api/ok/ adds one to its series and one duration observation."""
    before = await _scrape(mode)
    await fetch(mode, "/api/ok/", ip="127.0.0.1")
    after = await _scrape(mode)
    labels = {"method": "GET", "route": "api/ok/", "status": "200"}
    total = "stability_http_requests_total"
    assert value(after, total, **labels) == value(before, total, **labels) + 1
    count = "stability_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "api/ok/"}
    assert value(after, count, **route) == value(before, count, **route) + 1


async def test_requests_are_counted_when_no_more_series_are_kept(mode, monkeypatch):
    """Past the cap on kept metric children, a new series is still counted, each time."""
    from django_stability.middleware import _access_log

    monkeypatch.setattr(_access_log, "_children", {})
    monkeypatch.setattr(_access_log, "_MAX_CHILDREN", 0)
    before = await _scrape(mode)
    for _ in range(2):
        await fetch(mode, "/api/ok/", ip="127.0.0.1")
    after = await _scrape(mode)
    labels = {"method": "GET", "route": "api/ok/", "status": "200"}
    total = "stability_http_requests_total"
    assert value(after, total, **labels) == value(before, total, **labels) + 2
    assert _access_log._children == {}


async def test_routes_are_url_patterns_never_raw_paths(mode):
    """/obs/items/7/ is counted under its pattern; an unknown path under <unresolved>."""
    await fetch(mode, "/obs/items/7/", ip="127.0.0.1")
    await fetch(mode, f"/no/such/{uuid.uuid4().hex}", ip="127.0.0.1")
    text = await _scrape(mode)
    assert 'route="obs/items/<int:pk>/"' in text
    assert "/obs/items/7/" not in text
    assert 'route="<unresolved>",status="404"' in text


async def test_unknown_methods_share_one_label(mode):
    """A made-up method is counted as "other", so clients cannot mint label values."""
    await fetch(mode, "/api/ok/", ip="127.0.0.1", method="BREW")
    text = await _scrape(mode)
    assert 'method="other",route="api/ok/"' in text
    assert "BREW" not in text


async def test_breaker_transitions_appear(mode):
    """A breaker that opens shows as state 1 with one transition to open."""
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    breaker = CircuitBreaker(
        name,
        BreakerConfig.from_options(name, {"failure_threshold": 1}),
        engine=Engine(),
    )

    def fail() -> None:
        raise OSError("down")

    with pytest.raises(OSError):
        breaker.call(fail)
    text = await _scrape(mode)
    assert value(text, "stability_breaker_state", breaker=name) == 1
    assert (
        value(text, "stability_breaker_transitions_total", breaker=name, to="open") == 1
    )


async def test_rate_limit_refusals_appear(mode):
    """A request refused by the global limit is counted under group "global"."""
    from tests.ratelimit.support import MIDDLEWARE

    ip = unique_ip()
    with override_settings(
        ROOT_URLCONF="tests.ratelimit.support",
        MIDDLEWARE=MIDDLEWARE,
        STABILITY_RATELIMIT="1/m",
        STABILITY_RATELIMIT_EXEMPT=["/stability/metrics"],
    ):
        before = await _scrape(mode)
        codes = [(await fetch(mode, "/api/ok", ip=ip)).status_code for _ in range(2)]
        after = await _scrape(mode)
    assert codes == [200, 429]
    name = "stability_ratelimited_total"
    labels = {"group": "global", "reason": "limited"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1


async def test_other_clients_are_refused_without_a_token(mode):
    """Without STABILITY_METRICS_TOKEN, a non-loopback client gets a 403 problem."""
    response = await fetch(mode, URL, ip="203.0.113.9")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "stability_" not in response.content.decode()


async def test_a_forged_forwarded_for_does_not_make_a_client_local(mode):
    """X-Forwarded-For: 127.0.0.1 from an untrusted peer is ignored."""
    response = await fetch(
        mode, URL, ip="203.0.113.9", headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert response.status_code == 403


async def test_ipv6_loopback_may_read(mode):
    """::1 counts as loopback."""
    assert (await fetch(mode, URL, ip="::1")).status_code == 200


@override_settings(STABILITY_METRICS_TOKEN="s3cret-token-for-tests")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "Basic s3cret-token-for-tests", "Bearer "],
)
async def test_with_a_token_set_a_missing_or_wrong_one_is_401(mode, authorization):
    """With a token configured, anything but the right bearer token gets 401 + WWW-Authenticate."""
    headers = {} if authorization is None else {"Authorization": authorization}
    with override_settings(STABILITY_METRICS_TOKEN="s3cret-token-for-tests"):
        response = await fetch(mode, URL, ip="127.0.0.1", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


async def test_the_right_token_reads_from_anywhere(mode):
    """A scraper on another host with the bearer token gets the exposition."""
    with override_settings(STABILITY_METRICS_TOKEN="s3cret-token-for-tests"):
        response = await fetch(
            mode,
            URL,
            ip="203.0.113.9",
            headers={"Authorization": "Bearer s3cret-token-for-tests"},
        )
    assert response.status_code == 200
    assert b"stability_http_requests_total" in response.content


async def test_other_methods_get_405(mode):
    """POST is answered 405 with Allow, as a problem."""
    response = await fetch(mode, URL, ip="127.0.0.1", method="post")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
