"""The HTTP API under /stability/drafts/, through the WSGI and the ASGI handler."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from django_stability.drafts import MAX_DRAFT_DEPTH, get_draft, save_draft
from django_stability.models import Draft
from tests.drafts.conftest import ago
from tests.drafts.test_store import BAD_KEYS
from tests.http_modes import MODES

modes = pytest.mark.parametrize("mode", MODES)
PROBLEM = "application/problem+json"
URL = "/stability/drafts/"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The problem body of ``response``, after checking its status, type and code."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def test_urls_are_namespaced():
    """The routes are stability:drafts, stability:draft and stability:keepalive."""
    assert reverse("stability:drafts") == URL
    assert reverse("stability:draft", args=["note:1"]) == URL + "note:1"
    assert reverse("stability:keepalive") == "/stability/keepalive"


@modes
async def test_put_then_get_round_trips(mode, api, alice):
    """PUT stores the draft and answers it; GET answers the same, never cached."""
    me = api(mode, alice)
    put = await me("put", URL + "note:1", {"data": {"title": "Hello", "tags": ["a"]}})
    assert put.status_code == 200
    stored = put.json()
    assert set(stored) == {"key", "data", "version", "updated_at", "expires_at"}
    assert (stored["key"], stored["data"], stored["version"]) == (
        "note:1",
        {"title": "Hello", "tags": ["a"]},
        1,
    )
    assert put["Cache-Control"] == "no-store"
    got = await me("get", URL + "note:1")
    assert (got.status_code, got.json()) == (200, stored)
    assert got["Cache-Control"] == "no-store"


@modes
async def test_list_answers_summaries_newest_first(mode, api, alice):
    """GET drafts/ lists key, version, updated_at, expires_at and size, without data, newest first."""
    await sync_save(alice, "older", "x", now=ago(minutes=1))
    await sync_save(alice, "newer", {"a": 1})
    await sync_save(alice, "gone", "x", now=ago(days=8))
    response = await api(mode, alice)("get", URL)
    assert response.status_code == 200
    drafts = response.json()["drafts"]
    assert [d["key"] for d in drafts] == ["newer", "older"]
    assert set(drafts[0]) == {"key", "version", "updated_at", "expires_at", "size"}
    assert drafts[0]["size"] == len(b'{"a":1}')


@modes
async def test_put_with_current_version_then_stale_version(mode, api, alice):
    """PUT with the stored version wins; PUT with a stale one gets 409 with the current draft, which is kept."""
    me = api(mode, alice)
    await me("put", URL + "note", {"data": "v1"})
    assert (await me("put", URL + "note", {"data": "v2", "version": 1})).json()[
        "version"
    ] == 2
    stale = await me("put", URL + "note", {"data": "lost?", "version": 1})
    body = problem(stale, 409, "draft_conflict")
    assert body["draft"]["data"] == "v2"
    assert body["draft"]["version"] == 2
    assert (await me("get", URL + "note")).json()["data"] == "v2"


@modes
async def test_version_0_creates_once_and_then_conflicts(mode, api, alice):
    """PUT with version 0 creates the draft at version 1; a second one gets 409 with the stored draft, which is kept."""
    first, second = api(mode, alice), api(mode, alice)  # two tabs starting a new draft
    created = await first("put", URL + "note", {"data": "first tab", "version": 0})
    assert created.status_code == 200, created.content
    assert (created.json()["data"], created.json()["version"]) == ("first tab", 1)
    body = problem(
        await second("put", URL + "note", {"data": "second tab", "version": 0}),
        409,
        "draft_conflict",
    )
    assert body["draft"] == created.json()
    assert (await first("get", URL + "note")).json() == created.json()


@modes
async def test_version_0_creates_over_an_expired_draft(mode, api, alice):
    """An expired draft does not count as existing: version 0 stores a new draft at version 1."""
    await sync_save(alice, "note", "old", now=ago(days=8))
    await sync_save(alice, "note", "old again", now=ago(days=8))
    put = await api(mode, alice)("put", URL + "note", {"data": "new", "version": 0})
    assert put.status_code == 200, put.content
    assert (put.json()["data"], put.json()["version"]) == ("new", 1)


@modes
@pytest.mark.parametrize("body", [{}, {"version": None}], ids=["omitted", "null"])
async def test_without_a_version_a_put_creates_or_replaces(mode, api, alice, body):
    """A PUT whose version is omitted or null creates the draft, then overwrites whatever is stored."""
    me = api(mode, alice)
    assert (await me("put", URL + "note", {"data": "one", **body})).json()[
        "version"
    ] == 1
    await sync_save(alice, "note", "from elsewhere")
    replaced = await me("put", URL + "note", {"data": "mine", **body})
    assert (replaced.json()["data"], replaced.json()["version"]) == ("mine", 3)


@modes
async def test_missing_and_expired_drafts_are_404(mode, api, alice):
    """GET of an absent or expired draft is a 404 problem."""
    await sync_save(alice, "old", "x", now=ago(days=8))
    me = api(mode, alice)
    problem(await me("get", URL + "absent"), 404, "draft_not_found")
    problem(await me("get", URL + "old"), 404, "draft_not_found")


@modes
async def test_delete_answers_204_and_the_draft_is_gone(mode, api, alice):
    """DELETE answers 204, also when there was nothing to delete; the draft is gone."""
    me = api(mode, alice)
    await me("put", URL + "note", {"data": "x"})
    assert (await me("delete", URL + "note")).status_code == 204
    assert (await me("delete", URL + "note")).status_code == 204
    problem(await me("get", URL + "note"), 404, "draft_not_found")


@modes
async def test_other_users_drafts_are_invisible_and_untouchable(mode, api, alice, bob):
    """Bob gets 404 for alice's key, his PUT creates his own draft, his DELETE leaves hers."""
    await sync_save(alice, "note", "alice's")
    them = api(mode, bob)
    problem(await them("get", URL + "note"), 404, "draft_not_found")
    assert (await them("get", URL)).json() == {"drafts": []}
    put = await them("put", URL + "note", {"data": "bob's", "version": 1})
    assert put.json()["version"] == 1
    assert (await them("delete", URL + "note")).status_code == 204
    assert (await sync_get(alice, "note")).data == "alice's"
    assert (await sync_get(alice, "note")).version == 1


@modes
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("get", URL + "note"),
        ("put", URL + "note"),
        ("delete", URL + "note"),
    ],
)
async def test_anonymous_callers_get_401(mode, api, alice, method, path):
    """Anonymous callers get a 401 problem on every drafts route, and nothing changes."""
    await sync_save(alice, "note", "kept")
    response = await api(mode)(method, path, {"data": "x"} if method == "put" else None)
    problem(response, 401, "not_authenticated")
    assert (await sync_get(alice, "note")).data == "kept"


@modes
async def test_unsafe_methods_need_the_csrf_token(mode, api, alice):
    """With CSRF checks on, PUT and DELETE without the token get a 403 problem; with it they work."""
    me = api(mode, alice, csrf=True)
    problem(await me("put", URL + "note", {"data": "x"}, token=False), 403, "forbidden")
    assert (await me("put", URL + "note", {"data": "x"})).status_code == 200
    problem(await me("delete", URL + "note", token=False), 403, "forbidden")
    assert (await me("get", URL + "note")).status_code == 200
    assert (await me("delete", URL + "note")).status_code == 204


@modes
async def test_anonymous_put_without_token_is_a_csrf_403(mode, api):
    """An anonymous PUT without the CSRF token is refused by CSRF (403) before authentication."""
    response = await api(mode, csrf=True)(
        "put", URL + "note", {"data": "x"}, token=False
    )
    problem(response, 403, "forbidden")


@modes
@pytest.mark.parametrize("key", [k for k in BAD_KEYS if k])
async def test_bad_keys_are_400(mode, api, alice, key):
    """Too long, slashed, unicode or spaced keys get a 400 problem on GET, PUT and DELETE."""
    me = api(mode, alice)
    path = URL + quote(key, safe="/")
    problem(await me("get", path), 400, "invalid_draft_key")
    problem(await me("put", path, {"data": "x"}), 400, "invalid_draft_key")
    problem(await me("delete", path), 400, "invalid_draft_key")
    assert not await sync_exists()


@modes
@pytest.mark.parametrize("method", ["put", "delete", "post", "patch"])
async def test_empty_key_is_the_collection_which_is_read_only(mode, api, alice, method):
    """A PUT or DELETE with an empty key lands on drafts/, which answers 405 allowing GET and HEAD."""
    response = await api(mode, alice)(method, URL, {"data": "x"})
    problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"
    assert not await sync_exists()


@modes
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "invalid_draft"),
        (b'{"version": 1}', "invalid_draft"),
        (b'{"data": null}', "invalid_draft"),
        (b'{"data": NaN}', "invalid_draft"),
        (b'{"data": "a\\u0000b"}', "invalid_draft"),
        (b'{"data": 1, "version": "1"}', "invalid_draft_version"),
        (b'{"data": 1, "version": -1}', "invalid_draft_version"),
        (b'{"data": 1, "version": 1.5}', "invalid_draft_version"),
        (b'{"data": 1, "version": 1.0}', "invalid_draft_version"),
        (b'{"data": 1, "version": true}', "invalid_draft_version"),
        (b'{"data": 1, "version": [1]}', "invalid_draft_version"),
        (b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid_json"),
        (b'{"data": ' + b"[" * 970 + b"]" * 970 + b"}", "invalid_json"),
        (b'{"data": ' + b"[" * 101 + b"]" * 101 + b"}", "invalid_json"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "empty",
        "not-an-object",
        "no-data",
        "null-data",
        "nan",
        "nul",
        "string-version",
        "negative-version",
        "fractional-version",
        "float-version",
        "boolean-version",
        "list-version",
        "too-deep",
        "970-deep",
        "just-too-deep",
    ],
)
async def test_bad_bodies_are_400_and_lose_nothing(mode, api, alice, raw, code):
    """A PUT body that is not a storable draft gets a 400 problem and the stored draft is unchanged."""
    await sync_save(alice, "note", "kept")
    response = await api(mode, alice)("put", URL + "note", raw=raw)
    body = problem(response, 400, code)
    assert body["detail"]
    assert (await sync_get(alice, "note")).data == "kept"


@modes
async def test_data_at_the_depth_limit_round_trips(mode, api, alice):
    """Data nested exactly MAX_DRAFT_DEPTH deep is stored and answered back whole."""
    depth = MAX_DRAFT_DEPTH
    raw = b'{"data": ' + b"[" * depth + b"]" * depth + b"}"
    response = await api(mode, alice)("put", URL + "note", raw=raw)
    assert response.status_code == 200, response.content
    assert json.dumps(response.json()["data"]) == "[" * depth + "]" * depth


@modes
async def test_ten_megabytes_is_413(mode, api, alice):
    """A 10 MB body gets a 413 problem naming the limit, and the stored draft is unchanged."""
    await sync_save(alice, "note", "kept")
    raw = json.dumps({"data": "x" * 10_000_000})
    body = problem(
        await api(mode, alice)("put", URL + "note", raw=raw), 413, "draft_too_large"
    )
    assert "STABILITY_DRAFT_MAX_BYTES" in body["detail"]
    assert (await sync_get(alice, "note")).data == "kept"


@modes
async def test_just_over_the_limit_is_413(mode, api, alice, settings):
    """Data one byte over STABILITY_DRAFT_MAX_BYTES gets a 413 problem; at the limit it is stored."""
    settings.STABILITY_DRAFT_MAX_BYTES = 100
    me = api(mode, alice)
    assert (await me("put", URL + "note", {"data": "x" * 98})).status_code == 200
    problem(await me("put", URL + "note", {"data": "x" * 99}), 413, "draft_too_large")
    assert (await sync_get(alice, "note")).data == "x" * 98


@modes
async def test_per_user_limit_is_a_409_naming_the_setting(mode, api, alice, settings):
    """A new key beyond STABILITY_DRAFTS_PER_USER gets a 409 problem naming it; existing keys still save."""
    settings.STABILITY_DRAFTS_PER_USER = 1
    me = api(mode, alice)
    await me("put", URL + "one", {"data": 1})
    body = problem(
        await me("put", URL + "two", {"data": 2}), 409, "draft_limit_reached"
    )
    assert "STABILITY_DRAFTS_PER_USER" in body["detail"]
    assert (await me("put", URL + "one", {"data": 3})).status_code == 200


@modes
@pytest.mark.parametrize("method", ["post", "patch", "options"])
async def test_other_methods_are_405(mode, api, alice, method):
    """POST, PATCH and OPTIONS on a draft get a 405 problem with the Allow header."""
    response = await api(mode, alice)(method, URL + "note", {"data": "x"})
    problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD, PUT, DELETE"


async def sync_save(owner: Any, key: str, data: Any, **kwargs: Any) -> Draft:
    """save_draft from an async test (the ORM runs in a worker thread)."""
    return await sync_to_async(save_draft)(owner, key, data, **kwargs)


async def sync_get(owner: Any, key: str) -> Draft:
    """The stored draft, from an async test; it must exist."""
    draft = await sync_to_async(get_draft)(owner, key)
    assert draft is not None
    return draft


async def sync_exists() -> bool:
    """Whether any draft row exists, expired or not."""
    return await sync_to_async(Draft.all_objects.exists)()
