"""Operators are never locked out: every operator path works while the database breaker refuses calls.

The ``database`` breaker guards the very connection that the admin's session
and user, the ``Breaker`` row and the admin history go through. These tests
force it open on the default alias (the test database) and drive the admin,
the JSON endpoints and ``manage.py breakers`` through Django's real WSGI and
ASGI handlers, while the rest of the site answers 503.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS
from django.test import AsyncClient, Client

from django_stability.breakers import _operator as operator_module
from django_stability.breakers import act, breaker, operate, operator_access
from django_stability.breakers._store import keys_for
from django_stability.breakers.integrations import (
    install_database_breaker,
    uninstall_database_breaker,
)
from django_stability.breakers.integrations._guards import guarded_by
from django_stability.models import Breaker
from django_stability.state import get_engine
from tests.breakers.names import configured
from tests.http_modes import MODES
from tests.views.test_breakers import problem, user_with

pytestmark = pytest.mark.django_db

ADMIN = "/admin/django_stability/breaker/"


@pytest.fixture
def db_breaker(settings: Any) -> Iterator[str]:
    """A breaker of this test's own guarding the default database, removed afterwards."""
    for name in configured(settings, "dbop", {"failure_threshold": 3}):
        install_database_breaker(DEFAULT_DB_ALIAS, name)
        try:
            yield name
        finally:
            uninstall_database_breaker(DEFAULT_DB_ALIAS)


@pytest.fixture
def operator(django_user_model: Any) -> Any:
    return user_with(django_user_model, "view_breaker", "change_breaker")


@pytest.fixture
def writer(django_user_model: Any) -> Any:
    return user_with(django_user_model, staff=False)


def _admin_client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    with operator_access():  # the test logs in; the breaker is not the test's
        client.force_login(user)
    return client


async def _afetch(mode: str, method: str, path: str, user: Any) -> Any:
    """One request in ``mode`` by ``user``, logged in beforehand by the test itself."""
    if mode == "asgi":
        aclient = AsyncClient(raise_request_exception=False)
        with operator_access():
            await aclient.aforce_login(user)
        return await getattr(aclient, method)(path)
    client = await sync_to_async(_admin_client)(user)
    return await sync_to_async(getattr(client, method))(path)


def call(mode: str, method: str, path: str, *, user: Any) -> Any:
    """One request through the WSGI or ASGI handler, from a sync test (its transaction is seen)."""
    return async_to_sync(_afetch)(mode, method, path, user)


@pytest.mark.parametrize("mode", MODES)
def test_json_api_releases_a_forced_open_database_breaker(
    mode, db_breaker, operator, writer
):
    """While the site answers 503, the JSON endpoints read and release the breaker, and say it was recorded."""
    operate(db_breaker, "open")
    refused = call(mode, "get", "/stability/drafts/", user=writer)
    problem(refused, 503, "circuit_open")

    shown = call(mode, "get", f"/stability/breakers/{db_breaker}", user=operator)
    assert shown.status_code == 200, shown.content
    assert (shown.json()["state"], shown.json()["forced"]) == ("open", "open")

    released = call(
        mode, "post", f"/stability/breakers/{db_breaker}/release", user=operator
    )
    assert released.status_code == 200, released.content
    assert released.json()["state"] == "closed"
    assert released.json()["recorded"] is True
    with operator_access():
        assert Breaker.objects.get(name=db_breaker).forced == ""
        assert LogEntry.objects.filter(
            object_id=db_breaker, change_message="Circuit breaker: release"
        ).exists()
    assert call(mode, "get", "/stability/drafts/", user=writer).status_code == 200


def test_admin_works_while_the_database_breaker_is_forced_open(db_breaker, operator):
    """Index, login, the breakers page and its Release button all work; other admin pages get the 503."""
    operate(db_breaker, "open")
    client = _admin_client(operator)
    assert Client().get("/admin/login/").status_code == 200
    assert client.get("/admin/").status_code == 200
    page = client.get(ADMIN)
    assert page.status_code == 200, page.content
    html = page.content.decode()
    assert db_breaker in html
    assert "every query and connection of the database &#x27;default&#x27;" in html
    assert "manage.py breakers" in html  # the recovery hint
    assert client.get("/admin/auth/user/").status_code == 503

    done = client.post(ADMIN, {"breaker": db_breaker, "action": "release"}, follow=True)
    assert done.status_code == 200
    assert "released" in done.content.decode()
    assert breaker(db_breaker).snapshot().forced is None
    # The database answers again: the page is refused for want of a permission only.
    assert client.get("/admin/auth/user/").status_code == 403
    assert LogEntry.objects.filter(
        object_id=db_breaker, user=operator, change_message="Circuit breaker: release"
    ).exists()


def test_admin_asks_before_forcing_open_a_breaker_that_guards_the_database(
    db_breaker, operator
):
    """The first POST shows what stops working and how to undo it; only the confirmation forces it."""
    client = _admin_client(operator)
    asked = client.post(ADMIN, {"breaker": db_breaker, "action": "open"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Yes, force it open" in html
    assert f"manage.py breakers release {db_breaker}" in html
    assert breaker(db_breaker).snapshot().forced is None  # nothing happened yet

    done = client.post(
        ADMIN,
        {"breaker": db_breaker, "action": "open", "confirm": "yes"},
        follow=True,
    )
    assert done.status_code == 200  # the page after the click still answers
    assert "To undo it, press Release" in done.content.decode()
    assert breaker(db_breaker).snapshot().forced == "open"
    assert client.get("/admin/auth/user/").status_code == 503


def test_admin_forces_other_breakers_open_without_asking(settings, operator):
    """A breaker that guards neither the database nor a cache is forced at the first click."""
    for name in configured(settings, "plain", {}):
        client = _admin_client(operator)
        client.post(ADMIN, {"breaker": name, "action": "open"})
        assert breaker(name).snapshot().forced == "open"
        assert guarded_by(name) == []


def test_cli_releases_a_forced_open_database_breaker(db_breaker):
    """``manage.py breakers`` lists and releases while the breaker refuses the site's queries."""
    operate(db_breaker, "open")
    out = io.StringIO()
    call_command("breakers", "list", db_breaker, stdout=out)
    assert "open" in out.getvalue()
    call_command("breakers", "release", db_breaker, stdout=out, stderr=io.StringIO())
    assert "released" in out.getvalue()
    with operator_access():
        assert Breaker.objects.get(name=db_breaker).forced == ""


def test_forced_state_restored_from_the_database_does_not_lock_the_restore_out(
    db_breaker, operator, writer
):
    """After the shared state is lost, the breaker restores 'forced open' and operators can still release it."""
    operate(db_breaker, "open")
    # The shared record is lost (a Redis flush, a restart on process memory):
    # only the Breaker row remains, and the next request's query restores it.
    get_engine().delete(*keys_for(db_breaker))
    breaker(db_breaker).invalidate()
    problem(call("wsgi", "get", "/stability/drafts/", user=writer), 503, "circuit_open")
    assert breaker(db_breaker).snapshot().forced == "open"
    released = call(
        "asgi", "post", f"/stability/breakers/{db_breaker}/release", user=operator
    )
    assert released.json()["forced"] is None


def test_an_action_the_database_cannot_record_still_takes_effect(db_breaker, settings):
    """With the Breaker table unusable, the action changes the shared state and says it was not recorded."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE django_stability_breaker RENAME TO django_stability_breaker_gone"
        )
    try:
        done = act(db_breaker, "open", via="command")
        err = io.StringIO()
        call_command("breakers", "close", db_breaker, stdout=io.StringIO(), stderr=err)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE django_stability_breaker_gone RENAME TO django_stability_breaker"
            )
    assert (done.recorded, done.snapshot.forced) == (False, "open")
    assert done.error is not None and "django_stability_breaker" in done.error
    assert "Not recorded in the database" in err.getvalue()
    assert breaker(db_breaker).snapshot().forced == "closed"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["manage.py", "migrate"], "migrate"),
        (["/srv/app/manage.py", "createsuperuser", "--noinput"], "createsuperuser"),
        (["/venv/bin/django-admin", "breakers", "list"], "breakers"),
        (["/usr/lib/python3/site-packages/django/__main__.py", "check"], "check"),
        (["/venv/bin/gunicorn", "app.wsgi"], None),
        (["/venv/bin/pytest"], None),
        (["manage.py"], None),
    ],
)
def test_the_command_a_process_runs_is_read_from_its_command_line(argv, command):
    assert operator_module._command_name(argv) == command


def test_commands_are_unguarded_outside_requests_but_workers_are_not():
    assert operator_module.outside_requests_unguarded("migrate")
    assert operator_module.outside_requests_unguarded("runserver")
    assert not operator_module.outside_requests_unguarded("runworker")
    assert not operator_module.outside_requests_unguarded(None)
