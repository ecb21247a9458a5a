"""The breakers' JSON endpoints under stability/breakers/, under WSGI and ASGI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import AsyncClient, Client

from django_stability.breakers import breaker
from django_stability.models import Breaker
from tests.breakers.names import OUTCOMES, configured, fresh
from tests.http_modes import MODES, fetch

pytestmark = pytest.mark.django_db


BREAKER_KEYS = {
    "name",
    "state",
    "forced",
    "failure_rate",
    "calls",
    "failures",
    "slow_calls",
    "opened_at",
    "retry_at",
    "config",
}
CSRF_SECRET = "a" * 32  # a valid unmasked CSRF secret: 32 alphanumerics


@pytest.fixture
def name(settings: Any) -> Iterator[str]:
    """A configured breaker of this test's own, released afterwards."""
    yield from configured(settings, "views", {"failure_threshold": 3})


def user_with(django_user_model: Any, *codenames: str, staff: bool = True) -> Any:
    user = django_user_model.objects.create_user(
        username=f"u{uuid.uuid4().hex[:10]}", password="x", is_staff=staff
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_stability", codename__in=codenames
        )
    )
    return user


@pytest.fixture
def viewer(django_user_model: Any) -> Any:
    return user_with(django_user_model, "view_breaker")


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    return user_with(django_user_model, "view_breaker", "change_breaker")


async def _fetch(
    mode: str, method: str, path: str, user: Any, csrf: bool, token: bool
) -> Any:
    """tests.http_modes.fetch, with a session and a CSRF cookie in the client's own jar.

    (An extra ``Cookie`` header would not do: the ASGI test client sends its
    jar's header too, and Django joins two ``Cookie`` headers with a comma.)
    """
    if user is None:
        return await fetch(mode, method, path, csrf=csrf)
    headers = {"X-CSRFToken": CSRF_SECRET} if token else {}
    if mode == "asgi":
        aclient = AsyncClient(raise_request_exception=False, enforce_csrf_checks=csrf)
        await aclient.aforce_login(user)
        if token:
            aclient.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        return await getattr(aclient, method)(path, headers=headers)
    client = Client(raise_request_exception=False, enforce_csrf_checks=csrf)
    await sync_to_async(client.force_login)(user)
    if token:
        client.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return await sync_to_async(getattr(client, method))(path, headers=headers)


def call(
    mode: str,
    method: str,
    path: str,
    *,
    user: Any = None,
    csrf: bool = False,
    token: bool = False,
) -> Any:
    """One request in ``mode`` as ``user``, from a sync test (so the test's transaction is seen)."""
    return async_to_sync(_fetch)(mode, method, path, user, csrf, token)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


@pytest.mark.parametrize("mode", MODES)
def test_list_shows_configured_and_used_breakers(mode, name, viewer):
    """GET breakers/ lists every configured and every used breaker, each as breaker JSON."""
    used = fresh("views")
    breaker(used).call(lambda: None)
    response = call(mode, "get", "/stability/breakers/", user=viewer)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    listed = {item["name"]: item for item in response.json()["breakers"]}
    assert {name, used} <= set(listed)
    assert set(listed[name]) == BREAKER_KEYS
    assert listed[name]["state"] == "closed"
    assert listed[name]["forced"] is None
    assert listed[name]["config"]["failure_threshold"] == 3
    names = [item["name"] for item in response.json()["breakers"]]
    assert names == sorted(names)


@pytest.mark.parametrize("mode", MODES)
def test_detail_shows_live_state_and_counts(mode, name, viewer):
    """GET breakers/<name> answers the breaker JSON with the shared counts and times."""

    def boom() -> None:
        raise OSError

    for _ in range(3):
        with pytest.raises(OSError):
            breaker(name).call(boom)
    response = call(mode, "get", f"/stability/breakers/{name}", user=viewer)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == BREAKER_KEYS
    assert (body["name"], body["state"], body["forced"]) == (name, "open", None)
    assert body["opened_at"] is not None
    assert body["retry_at"] is not None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "state", "forced", "persisted"), OUTCOMES)
def test_actions_apply_record_and_answer_the_breaker(
    mode, action, state, forced, persisted, name, operator
):
    """POST breakers/<name>/<action> changes the breaker, persists it, logs it, answers its JSON."""
    response = call(mode, "post", f"/stability/breakers/{name}/{action}", user=operator)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["state"], body["forced"]) == (name, state, forced)
    assert breaker(name).snapshot().forced == forced
    assert Breaker.objects.get(name=name).forced == persisted
    assert Breaker.objects.get(name=name).changed_by == operator
    entry = LogEntry.objects.get(object_id=name)
    assert entry.user == operator
    assert entry.change_message == f"Circuit breaker: {action}"


@pytest.mark.parametrize("mode", MODES)
def test_release_ends_a_forced_state(mode, name, operator):
    """release after open closes the breaker again and clears the persisted forced state."""
    call(mode, "post", f"/stability/breakers/{name}/open", user=operator)
    response = call(mode, "post", f"/stability/breakers/{name}/release", user=operator)
    assert (response.json()["state"], response.json()["forced"]) == ("closed", None)
    assert Breaker.objects.get(name=name).forced == ""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_callers_get_401_and_change_nothing(mode, method, name):
    """Anonymous callers are told to authenticate (401 problem), for reads and actions."""
    path = f"/stability/breakers/{name}" + ("/open" if method == "post" else "")
    problem(call(mode, method, path), 401, "unauthorized")
    problem(call(mode, "get", "/stability/breakers/"), 401, "unauthorized")
    assert breaker(name).snapshot().forced is None
    assert not Breaker.objects.filter(name=name).exists()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("codenames", "staff"),
    [
        ((), True),  # staff without the permission
        (("view_breaker", "change_breaker"), False),  # permissions but not staff
    ],
)
def test_callers_without_staff_and_permission_get_403(
    mode, codenames, staff, name, django_user_model
):
    """Reading and acting need staff and the permission: otherwise 403, nothing changes."""
    user = user_with(django_user_model, *codenames, staff=staff)
    problem(call(mode, "get", "/stability/breakers/", user=user), 403, "forbidden")
    problem(
        call(mode, "get", f"/stability/breakers/{name}", user=user), 403, "forbidden"
    )
    path = f"/stability/breakers/{name}/open"
    problem(call(mode, "post", path, user=user), 403, "forbidden")
    assert breaker(name).snapshot().forced is None
    assert not Breaker.objects.filter(name=name).exists()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("mode", MODES)
def test_view_permission_does_not_allow_actions(mode, name, viewer):
    """view_breaker reads but cannot act: 403, nothing changes."""
    path = f"/stability/breakers/{name}/open"
    problem(call(mode, "post", path, user=viewer), 403, "forbidden")
    assert breaker(name).state == "closed"
    assert not Breaker.objects.filter(name=name).exists()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "bad",
    [
        "never-configured",  # well-formed but unknown
        "bad%20name",  # outside [A-Za-z0-9._:-]
        "x" * 201,  # too long
    ],
)
def test_unknown_or_malformed_names_are_404(mode, bad, operator):
    """An unknown or malformed breaker name is a 404 problem, for reads and actions alike."""
    body = problem(
        call(mode, "get", f"/stability/breakers/{bad}", user=operator), 404, "not_found"
    )
    # Only a well-formed name is named back to the caller.
    assert ("never-configured" in body["detail"]) == (bad == "never-configured")
    path = f"/stability/breakers/{bad}/open"
    problem(call(mode, "post", path, user=operator), 404, "not_found")
    assert not Breaker.objects.exists()


@pytest.mark.parametrize("mode", MODES)
def test_unknown_action_is_404(mode, name, operator):
    """An action that is not one of the four is no URL at all."""
    response = call(mode, "post", f"/stability/breakers/{name}/explode", user=operator)
    problem(response, 404, "not_found")
    assert breaker(name).state == "closed"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("method", "suffix", "allow"),
    [
        ("post", "", "GET, HEAD"),
        ("delete", "/{name}", "GET, HEAD"),
        ("get", "/{name}/open", "POST"),
        ("put", "/{name}/reset", "POST"),
    ],
)
def test_wrong_methods_are_405(mode, method, suffix, allow, name, operator):
    """Each endpoint answers other methods with a 405 problem naming the allowed ones."""
    path = "/stability/breakers/" + suffix.format(name=name).lstrip("/")
    response = call(mode, method, path, user=operator)
    problem(response, 405, "method_not_allowed")
    assert response["Allow"] == allow
    assert breaker(name).state == "closed"


@pytest.mark.parametrize("mode", MODES)
def test_actions_need_the_csrf_token_with_session_auth(mode, name, operator):
    """With CSRF checks enforced, a POST without the token is refused and changes nothing."""
    path = f"/stability/breakers/{name}/open"
    response = call(mode, "post", path, user=operator, csrf=True)
    assert response.status_code == 403
    assert breaker(name).state == "closed"
    assert not Breaker.objects.filter(name=name).exists()
    response = call(mode, "post", path, user=operator, csrf=True, token=True)
    assert response.status_code == 200
    assert breaker(name).state == "open"


def test_urls_are_named_in_the_stability_namespace(name):
    """The endpoints reverse as stability:breakers, stability:breaker and stability:breaker-action."""
    from django.urls import reverse

    assert reverse("stability:breakers") == "/stability/breakers/"
    assert reverse("stability:breaker", args=[name]) == f"/stability/breakers/{name}"
    assert (
        reverse("stability:breaker-action", kwargs={"name": name, "action": "reset"})
        == f"/stability/breakers/{name}/reset"
    )
