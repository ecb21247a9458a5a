"""@ratelimit: django-ratelimit's arguments on sync and async views, answered with 429 problems."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client, override_settings

from django_stability.ratelimit import ratelimit
from tests.http_modes import MODES
from tests.ratelimit.conftest import close_engine, refused
from tests.ratelimit.support import fetch, hello, unique_ip

VIEWS = ("sync", "async")


@pytest.fixture(params=[(m, v) for m in MODES for v in VIEWS], ids="-".join)
def where(request, limits):
    """Every (handler, view) pair: WSGI or ASGI, a sync or an async view; global limit off."""
    mode, kind = request.param
    with override_settings(STABILITY_RATELIMIT=None):
        yield mode, f"/{kind}/"


async def _codes(
    where: tuple[str, str], name: str, n: int, ip: str, **extra: Any
) -> list[int]:
    mode, prefix = where
    return [
        (await fetch(mode, prefix + name, ip=ip, **extra)).status_code for _ in range(n)
    ]


async def test_over_the_view_limit_answers_429_with_headers(where, ip):
    """A view limited to 3/m serves three requests, then a 429 problem with Retry-After."""
    mode, prefix = where
    responses = [await fetch(mode, prefix + "ip", ip=ip) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0]["RateLimit-Remaining"] == "2"
    assert responses[-1]["Content-Type"] == "application/problem+json"
    assert responses[-1]["Retry-After"] == "60"


async def test_a_tuple_rate_is_count_and_seconds(where, ip):
    """rate=(2, 30) allows two requests per 30 seconds."""
    assert await _codes(where, "tuple", 3, ip) == [200, 200, 429]
    mode, prefix = where
    assert (await fetch(mode, prefix + "tuple", ip=ip))["Retry-After"] == "30"


async def test_only_the_given_methods_are_counted(where, ip):
    """method=UNSAFE counts POSTs; GETs pass however many there are."""
    assert await _codes(where, "post", 3, ip) == [200, 200, 200]
    assert await _codes(where, "post", 2, ip, method="post") == [200, 429]


async def test_block_false_only_marks_the_request(where, ip):
    """block=False lets the view run and sets request.limited once over the limit."""
    mode, prefix = where
    responses = [await fetch(mode, prefix + "soft", ip=ip) for _ in range(2)]
    assert [r.status_code for r in responses] == [200, 200]
    assert [r.json()["limited"] for r in responses] == [False, True]


@pytest.mark.django_db
def test_user_keys_count_each_user_apart(where):
    """key='user_or_ip': two users behind one address have a limit each."""
    mode, prefix = where
    codes = []
    for name in ("ann", "bob"):
        user = User.objects.create(username=name)
        if mode == "asgi":
            aclient = AsyncClient(raise_request_exception=False)
            aclient.force_login(user)
            aget = async_to_sync(aclient.get)
            codes += [aget(prefix + "user").status_code for _ in range(2)]
        else:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            codes += [client.get(prefix + "user").status_code for _ in range(2)]
    assert codes == [200, 429, 200, 429]


async def test_anonymous_callers_of_user_keys_count_by_address(where, ip):
    """key='user_or_ip' without a login counts the client address."""
    assert await _codes(where, "user", 2, ip) == [200, 429]
    assert await _codes(where, "user", 1, unique_ip()) == [200]


async def test_query_keys_count_each_value(where, ip):
    """key='get:q' gives every value of ?q= a counter of its own."""
    tag = unique_ip()
    assert await _codes(where, "get", 2, ip, data={"q": tag}) == [200, 429]
    assert await _codes(where, "get", 1, ip, data={"q": tag + "x"}) == [200]


async def test_dotted_key_and_rate_callables(where, ip):
    """Dotted paths to a key and a rate callable are called with (group, request)."""
    tenant = unique_ip()
    headers = {"X-Tenant": tenant}
    assert await _codes(where, "tenant", 3, ip, headers=headers) == [200, 200, 429]
    vip = await _codes(where, "tenant", 4, ip, headers={"X-Tenant": "vip"})
    assert vip == [200] * 4


async def test_a_group_shares_one_counter_between_views(where, ip):
    """Two views in group 'shared' draw from the same 2/m."""
    assert await _codes(where, "shared-a", 1, ip) == [200]
    assert await _codes(where, "shared-b", 2, ip) == [200, 429]


async def test_refusals_are_counted_by_group(where, ip):
    """stability_ratelimited_total counts refused requests under the view's group."""
    before = refused("shared")
    await _codes(where, "shared-a", 3, ip)
    assert refused("shared") == before + 1


@pytest.mark.redis
async def test_view_limits_count_in_redis(where, redis_limits, ip):
    """With Redis configured, the view's counter is shared by every worker."""
    assert await _codes(where, "ip", 2, ip) == [200, 200]
    await close_engine()  # a second worker process would have an engine of its own
    assert await _codes(where, "ip", 2, ip) == [200, 429]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"rate": "10/minute"}, ValueError),
        ({"rate": (10,)}, ValueError),
        ({"rate": (0, 60)}, ValueError),
        ({"rate": 10}, TypeError),
        ({"key": "cookie:x"}, ValueError),
        ({"key": ""}, TypeError),
        ({"key": "tests.ratelimit.support.missing"}, ImportError),
        ({"method": []}, TypeError),
    ],
)
def test_bad_arguments_fail_when_decorating(kwargs, error):
    """A malformed rate, key or method raises at import time, not on a request."""
    with pytest.raises(error):
        ratelimit(**kwargs)(hello)


def test_the_usage_is_on_the_request(limits):
    """request.ratelimit tells the view how much of its limit the client has left."""
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    from django_stability.ratelimit import Usage

    seen: list[Any] = []

    @ratelimit(rate="5/m", group="usage")
    def view(request: HttpRequest) -> HttpResponse:
        seen.append(getattr(request, "ratelimit", None))
        return hello(request)

    view(RequestFactory().get("/", REMOTE_ADDR="192.0.2.9"))
    [usage] = seen
    assert isinstance(usage, Usage)
    assert (usage.limit, usage.hits, usage.remaining, usage.limited) == (5, 1, 4, False)


def test_no_rate_means_no_limit():
    """rate=None (django-ratelimit's default) decorates without limiting."""
    view = ratelimit()(hello)
    assert view.__name__ == "hello"
