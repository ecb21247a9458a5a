"""CacheHeadersMiddleware through the real WSGI and ASGI handlers, sync and async views."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.http import http_date

from django_stability.middleware import CacheHeadersMiddleware, _cache
from tests.http_modes import MODES, fetch

modes = pytest.mark.parametrize("mode", MODES)
twins = pytest.mark.parametrize("base", ["/html/", "/html/async/"])
api_twins = pytest.mark.parametrize("base", ["/api/", "/api/async/"])

TEXT_BODY = b"hello " * 20


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha1(content, usedforsecurity=False).hexdigest()[:32] + '"'


def md5_etag_of(content: bytes) -> str:
    return '"' + hashlib.md5(content, usedforsecurity=False).hexdigest() + '"'


@pytest.fixture
def etag_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Records each body our middleware hashes (a spy around the real function)."""
    calls: list[bytes] = []
    real = _cache._etag

    def spy(content: bytes) -> str:
        calls.append(content)
        return real(content)

    monkeypatch.setattr(_cache, "_etag", spy)
    return calls


# --- Cache-Control policies ---


@modes
@api_twins
async def test_api_default_policy_is_no_store_without_etag(mode, base):
    """Under /api/ responses get Cache-Control: no-store and no ETag."""
    response = await fetch(mode, "get", f"{base}ok/")
    assert response["Cache-Control"] == "no-store"
    assert "ETag" not in response


@modes
async def test_static_policy_is_public_immutable(mode):
    """Under /static/ responses get the long public policy and an ETag."""
    response = await fetch(mode, "get", "/static/app.css")
    assert response["Cache-Control"] == "public, max-age=86400, immutable"
    assert response["ETag"] == etag_of(TEXT_BODY)


@modes
@twins
async def test_unmatched_path_gets_no_cache_control_but_an_etag(mode, base):
    """A path no policy matches gets no Cache-Control, but still an ETag."""
    response = await fetch(mode, "get", f"{base}text/")
    assert "Cache-Control" not in response
    assert response["ETag"] == etag_of(TEXT_BODY)


@modes
@pytest.mark.parametrize("base", ["/api/", "/api/async/", "/html/", "/html/async/"])
async def test_view_cache_control_is_never_overridden(mode, base):
    """A Cache-Control set by the view wins over the policies; private responses still get an ETag."""
    response = await fetch(mode, "get", f"{base}cache-control/")
    assert response["Cache-Control"] == "private, max-age=5"
    assert response["ETag"] == etag_of(b"view decides")


@modes
async def test_first_matching_prefix_wins(mode, settings):
    """With overlapping prefixes the first one listed applies."""
    settings.STABILITY_CACHE_POLICIES = [
        ("/html/", "max-age=60"),
        ("/html/text/", "max-age=1"),
    ]
    response = await fetch(mode, "get", "/html/text/")
    assert response["Cache-Control"] == "max-age=60"


@modes
async def test_errors_never_get_a_cacheable_policy(mode):
    """A 404 under /static/ is not made public and immutable; a 404 under /api/ gets no-store."""
    response = await fetch(mode, "get", "/static/missing.css")
    assert response.status_code == 404
    assert "immutable" not in response.get("Cache-Control", "")
    response = await fetch(mode, "get", "/api/fail/404/")
    assert response["Cache-Control"] == "no-store"


# --- ETag and 304 ---


@modes
@twins
@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize(
    "if_none_match",
    [
        "{etag}",
        "W/{etag}",
        "*",
        '"other", {etag}',
        '"a",W/"b" , {etag}',
    ],
)
async def test_matching_if_none_match_answers_304(mode, base, method, if_none_match):
    """GET and HEAD with a matching If-None-Match (weak, *, lists) answer an empty 304 with the headers."""
    header = if_none_match.format(etag=etag_of(TEXT_BODY))
    response = await fetch(
        mode, method, f"{base}text/", headers={"if-none-match": header}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag_of(TEXT_BODY)
    assert response["X-App-Version"]


@modes
@twins
@pytest.mark.parametrize(
    "if_none_match",
    [
        '"nope"',
        "W/",
        "garbage without quotes",
        '"unterminated',
        "",
        ",,,",
        "\x1b[2J",
        "x" * 10_000,
    ],
)
async def test_other_or_garbage_if_none_match_answers_200(mode, base, if_none_match):
    """A non-matching or malformed If-None-Match gets the full 200 response."""
    response = await fetch(
        mode, "get", f"{base}text/", headers={"if-none-match": if_none_match}
    )
    assert response.status_code == 200
    assert response.content == TEXT_BODY


@modes
async def test_304_keeps_the_policy(mode):
    """A 304 carries the same Cache-Control the 200 would have."""
    headers = {"if-none-match": etag_of(TEXT_BODY)}
    response = await fetch(mode, "get", "/static/app.css", headers=headers)
    assert response.status_code == 304
    assert response["Cache-Control"] == "public, max-age=86400, immutable"


@modes
async def test_if_match_mismatch_is_412(mode):
    """A GET whose If-Match does not match answers 412 Precondition Failed."""
    response = await fetch(mode, "get", "/html/text/", headers={"if-match": '"stale"'})
    assert response.status_code == 412


@modes
@twins
async def test_unsafe_methods_get_no_etag(mode, base):
    """POST responses get neither an ETag nor a 304."""
    response = await fetch(mode, "post", f"{base}text/", headers={"if-none-match": "*"})
    assert response.status_code == 200
    assert "ETag" not in response


@modes
@pytest.mark.parametrize("base", ["/html/", "/html/async/", "/api/", "/api/async/"])
async def test_streaming_gets_headers_only(mode, base):
    """Streaming responses get the version (and policy) headers but are not hashed or cut."""
    response = await fetch(
        mode, "get", f"{base}stream/", headers={"if-none-match": "*"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert "ETag" not in response
    assert response["X-App-Version"]
    assert response.get("Cache-Control") == (
        "no-store" if base.startswith("/api/") else None
    )


@modes
async def test_streaming_body_is_intact(mode):
    """The body of a streaming response comes through whole."""
    if mode == "asgi":
        response = await fetch(mode, "get", "/html/async/stream/")
        assert b"".join([chunk async for chunk in response.streaming_content]) == b"abc"
    else:
        response = await fetch(mode, "get", "/html/stream/")
        assert b"".join(response.streaming_content) == b"abc"


# --- with Django's ConditionalGetMiddleware ---

CONDITIONAL = "django.middleware.http.ConditionalGetMiddleware"


@modes
async def test_conditional_get_before_ours_hashes_nothing_more(
    mode, settings, etag_calls
):
    """ConditionalGetMiddleware in Django's usual place reuses our ETag: one hash per request, 304 works."""
    settings.MIDDLEWARE = [
        *django_settings.MIDDLEWARE[:3],
        CONDITIONAL,
        *django_settings.MIDDLEWARE[3:],
    ]
    response = await fetch(mode, "get", "/html/text/")
    assert response["ETag"] == etag_of(TEXT_BODY) != md5_etag_of(TEXT_BODY)
    assert len(etag_calls) == 1
    response = await fetch(
        mode, "get", "/html/text/", headers={"if-none-match": etag_of(TEXT_BODY)}
    )
    assert response.status_code == 304


@modes
async def test_conditional_get_after_ours_is_not_hashed_again(
    mode, settings, etag_calls
):
    """ConditionalGetMiddleware placed after ours sets the GET ETag and 304; we hash nothing."""
    stack = list(django_settings.MIDDLEWARE)
    settings.MIDDLEWARE = [*stack[:-1], CONDITIONAL, stack[-1]]
    response = await fetch(mode, "get", "/html/text/")
    assert response["ETag"] == md5_etag_of(TEXT_BODY)
    headers = {"if-none-match": md5_etag_of(TEXT_BODY)}
    response = await fetch(mode, "get", "/html/text/", headers=headers)
    assert response.status_code == 304
    assert etag_calls == []


@modes
async def test_head_gets_etag_and_304_where_conditional_get_does_not(
    mode, settings, etag_calls
):
    """ConditionalGetMiddleware ignores HEAD; ours still gives HEAD an ETag and a 304."""
    stack = list(django_settings.MIDDLEWARE)
    settings.MIDDLEWARE = [*stack[:-1], CONDITIONAL, stack[-1]]
    response = await fetch(mode, "head", "/html/text/")
    assert response["ETag"] == etag_of(TEXT_BODY)
    headers = {"if-none-match": etag_of(TEXT_BODY)}
    assert (
        await fetch(mode, "head", "/html/text/", headers=headers)
    ).status_code == 304
    assert len(etag_calls) == 2


# --- X-App-Version ---


@modes
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/html/text/", 200),
        ("get", "/api/async/ok/", 200),
        ("get", "/api/fail/500/", 500),
        ("get", "/api/async/fail/404/", 404),
        ("get", "/api/nowhere/", 404),
        ("get", "/html/async/stream/", 200),
        ("post", "/stability/version", 405),
    ],
)
async def test_app_version_on_every_response(mode, method, path, status, settings):
    """X-App-Version is on successes, errors, unknown URLs and streaming responses."""
    settings.STABILITY_APP_VERSION = "2026.11.22-abc123"
    response = await fetch(mode, method, path)
    assert response.status_code == status
    assert response["X-App-Version"] == "2026.11.22-abc123"


@modes
async def test_app_version_default_comes_from_environment(mode, settings, monkeypatch):
    """Without the setting, X-App-Version is $APP_VERSION, else "unknown"."""
    if hasattr(django_settings, "STABILITY_APP_VERSION"):
        del settings.STABILITY_APP_VERSION
    monkeypatch.setenv("APP_VERSION", "from-env-7")
    settings.DEBUG = False  # any setting change refreshes the cached value
    assert (await fetch(mode, "get", "/html/ok/"))["X-App-Version"] == "from-env-7"
    monkeypatch.delenv("APP_VERSION")
    settings.DEBUG = False
    assert (await fetch(mode, "get", "/html/ok/"))["X-App-Version"] == "unknown"


@modes
async def test_settings_changes_are_picked_up(mode, settings):
    """Changing the version or the policies takes effect on the next request."""
    for version, policy in (("1", "max-age=1"), ("2", "max-age=2")):
        settings.STABILITY_APP_VERSION = version
        settings.STABILITY_CACHE_POLICIES = [("/html/", policy)]
        response = await fetch(mode, "get", "/html/ok/")
        assert (response["X-App-Version"], response["Cache-Control"]) == (
            version,
            policy,
        )


# --- direct construction: a real middleware around a plain view callable ---


def _run(
    response: HttpResponse, request: HttpRequest | None = None, **kwargs: Any
) -> Any:
    middleware: Callable[[HttpRequest], Any] = CacheHeadersMiddleware(
        lambda r: response, **kwargs
    )
    return middleware(request or RequestFactory().get("/x"))


def test_ctor_arguments_override_settings():
    """policies= and app_version= given to the constructor replace the settings."""
    response = _run(HttpResponse("x"), policies=[("/x", "max-age=9")], app_version="v9")
    assert (response["Cache-Control"], response["X-App-Version"]) == ("max-age=9", "v9")


def test_existing_etag_and_empty_bodies_are_not_hashed(etag_calls):
    """A response with its own ETag keeps it; an empty 200 gets none."""
    response = HttpResponse("x")
    response["ETag"] = '"mine"'
    assert _run(response)["ETag"] == '"mine"'
    assert "ETag" not in _run(HttpResponse(b""))
    assert etag_calls == []


def test_if_modified_since_uses_the_views_last_modified():
    """A view's Last-Modified is honoured: an If-Modified-Since at or after it answers 304."""
    response = HttpResponse("x")
    response["Last-Modified"] = http_date(1_700_000_000)
    request = RequestFactory().get(
        "/x", headers={"if-modified-since": http_date(1_700_000_100)}
    )
    assert _run(response, request).status_code == 304


def test_view_no_store_disables_etag():
    """A view's own Cache-Control: no-store means no ETag, even among other directives."""
    response = HttpResponse("x")
    response["Cache-Control"] = "max-age=0, NO-STORE"
    assert "ETag" not in _run(response)


@pytest.mark.parametrize(
    "policies",
    [
        "/api/",
        ["/api/"],
        [("/api/",)],
        [("/api/", "no-store", "x")],
        [("api/", "no-store")],
        [("/api/", "")],
        [("/api/", "no-store\r\nSet-Cookie: x=1")],
        [(None, "no-store")],
        [("/api/", 3)],
        [("/api/", "max-age=ten")],
        [("/api/", "no-store,")],
        7,
    ],
)
def test_malformed_policies_fail_at_startup(policies, settings):
    """What the system check calls an error is an ImproperlyConfigured, quoting its ID, at build time."""
    with pytest.raises(
        ImproperlyConfigured, match=r"^policies.*\(django_stability\.E00[56]\)$"
    ):
        _run(HttpResponse(), policies=policies)
    settings.STABILITY_CACHE_POLICIES = policies
    with pytest.raises(
        ImproperlyConfigured, match=r"^STABILITY_CACHE_POLICIES.*E00[56]"
    ):
        _run(HttpResponse())


@pytest.mark.parametrize(
    "version", ["", "1.0\n", "1.0\rX-Evil: 1", 1.0, None, "1.0\u00e9", " 1.0"]
)
def test_malformed_version_fails_at_startup(version, settings):
    """A version the check E002 refuses is an ImproperlyConfigured when the middleware is built."""
    settings.STABILITY_APP_VERSION = version
    with pytest.raises(ImproperlyConfigured, match="^STABILITY_APP_VERSION "):
        _run(HttpResponse())
