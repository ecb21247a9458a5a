"""GET /stability/version and the app's URLconf."""

from __future__ import annotations

import json

import pytest
from django.urls import resolve, reverse

from tests.http_modes import MODES, fetch

modes = pytest.mark.parametrize("mode", MODES)


def test_url_is_namespaced():
    """The view is reachable as stability:version at /stability/version."""
    assert reverse("stability:version") == "/stability/version"
    assert resolve("/stability/version").app_name == "stability"


@modes
async def test_get_answers_the_version_and_matches_the_header(mode, settings):
    """GET answers {"version": ...}, the same value as the X-App-Version header."""
    settings.STABILITY_APP_VERSION = "3.1.4+build.15"
    response = await fetch(mode, "get", "/stability/version")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"version": "3.1.4+build.15"}
    assert response["X-App-Version"] == "3.1.4+build.15"


@modes
async def test_head_answers_headers_without_body(mode):
    """HEAD answers 200 with the headers and no body."""
    response = await fetch(mode, "head", "/stability/version")
    assert response.status_code == 200
    assert response.content == b""
    assert response["ETag"]


@modes
async def test_clients_revalidate_and_get_304(mode):
    """The answer is no-cache with an ETag, so a client revalidates and gets 304 until a deploy."""
    first = await fetch(mode, "get", "/stability/version")
    assert first["Cache-Control"] == "no-cache"
    again = await fetch(
        mode, "get", "/stability/version", headers={"if-none-match": first["ETag"]}
    )
    assert again.status_code == 304


@modes
async def test_new_version_changes_the_etag(mode, settings):
    """After a version change the old ETag no longer matches."""
    settings.STABILITY_APP_VERSION = "1"
    etag = (await fetch(mode, "get", "/stability/version"))["ETag"]
    settings.STABILITY_APP_VERSION = "2"
    response = await fetch(
        mode, "get", "/stability/version", headers={"if-none-match": etag}
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {"version": "2"}


@modes
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("csrf", [False, True])
async def test_other_methods_are_405_problems(mode, method, csrf):
    """Methods other than GET and HEAD answer a 405 problem with Allow, even when CSRF is enforced."""
    response = await fetch(mode, method, "/stability/version", csrf=csrf)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert (body["status"], body["code"]) == (405, "method_not_allowed")
    assert body["correlation_id"] == response["X-Correlation-ID"]


@modes
async def test_trailing_slash_is_not_the_endpoint(mode):
    """/stability/version/ is not an alias: it is a 404 problem (under the API prefixes)."""
    response = await fetch(mode, "get", "/stability/version/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
