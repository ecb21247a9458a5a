"""POST /stability/keepalive: renewing a logged-in user's session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.drafts.conftest import Api, _close_worker_connections  # noqa: F401 - autouse fixture
from tests.http_modes import MODES

modes = pytest.mark.parametrize("mode", MODES)
URL = "/stability/keepalive"


@pytest.fixture
def carol(transactional_db, django_user_model):
    """A logged-in user whose session is renewed."""
    return django_user_model.objects.create_user("carol", password="not-used")


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@modes
async def test_renews_the_session_and_says_for_how_long(mode, carol, settings):
    """A logged-in POST answers {"expires_in": SESSION_COOKIE_AGE} and sends the session cookie again."""
    settings.SESSION_COOKIE_AGE = 1800
    response = await Api(mode, carol)("post", URL)
    assert response.status_code == 200
    assert response.json() == {"expires_in": 1800}
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 1800
    assert response["Cache-Control"] == "no-store"


@modes
async def test_anonymous_callers_get_401(mode, transactional_db):
    """An anonymous POST gets a 401 problem and no session."""
    response = await Api(mode)("post", URL)
    _problem(response, 401, "not_authenticated")
    assert "sessionid" not in response.cookies


@modes
async def test_needs_the_csrf_token(mode, carol):
    """Without the CSRF token the POST gets a 403 problem; with it, 200."""
    me = Api(mode, carol, csrf=True)
    _problem(await me("post", URL, token=False), 403, "forbidden")
    assert (await me("post", URL)).status_code == 200


@modes
@pytest.mark.parametrize("method", ["get", "put", "delete"])
async def test_other_methods_are_405(mode, carol, method):
    """Methods other than POST get a 405 problem allowing POST."""
    response = await Api(mode, carol)(method, URL)
    _problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
