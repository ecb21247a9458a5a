"""The "Circuit breakers" admin page: live listing, actions, permissions, history, persistence."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse

from django_stability.breakers import CircuitOpenError, all_breakers, breaker
from django_stability.breakers._store import keys_for
from django_stability.models import Breaker
from django_stability.runtime import runtime
from django_stability.state import get_engine
from tests import services
from tests.breakers.names import OUTCOMES, configured, fresh

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_stability/breaker/"


@pytest.fixture
def name(settings: Any) -> Iterator[str]:
    """A configured breaker of this test's own (no database row), released afterwards."""
    yield from configured(
        settings, "admin", {"failure_threshold": 2, "minimum_calls": 1}
    )


def staff_client(django_user_model: Any, *codenames: str) -> tuple[Client, Any]:
    user = django_user_model.objects.create_user(
        username=f"s{uuid.uuid4().hex[:10]}", password="x", is_staff=True
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="django_stability", codename__in=codenames
        )
    )
    client = Client()
    client.force_login(user)
    return client, user


def row_of(response: Any, name: str) -> str:
    """The HTML of the table row of breaker ``name``."""
    html: str = response.content.decode()
    start = html.index(f'data-breaker="{name}"')
    return html[start : html.index("</tr>", start)]


def _fail() -> None:
    raise OSError


def cells_of(response: Any, name: str) -> list[str]:
    """The text of the data cells (state onwards) of breaker ``name``'s row."""
    row = row_of(response, name)
    return [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split("<td")[1:]]


def test_lists_every_breaker_with_live_state(admin_client, name, settings):
    """Configured and used breakers are listed without database rows, with state and counts."""
    used, tripped = fresh("admin"), fresh("admin")
    settings.STABILITY_BREAKERS = {
        **settings.STABILITY_BREAKERS,
        tripped: {"failure_threshold": 1},
    }
    breaker(used).call(lambda: None)
    breaker(name).call(lambda: None)
    with pytest.raises(OSError):
        breaker(name).call(_fail)
    with pytest.raises(OSError):
        breaker(tripped).call(_fail)
    assert not Breaker.objects.exists()
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "admin/django_stability/breaker/change_list.html" in [
        t.name for t in response.templates
    ]
    html = response.content.decode()
    for heading in (
        "State",
        "Forced state",
        "Failure rate (%)",
        "Calls",
        "Failures",
        "Slow calls",
        "Opened at",
        "Retry at",
    ):
        assert f"<span>{heading}</span>" in html
    # state, forced, failure rate, calls, failures, slow calls, opened at, retry at
    assert cells_of(response, name)[:6] == ["closed", "-", "50.0", "2", "1", "0"]
    state, forced, *_, opened_at, retry_at = cells_of(response, tripped)[:8]
    assert (state, forced) == ("open", "-")
    assert opened_at != "-" and retry_at != "-"
    assert 'class="breaker breaker-open"' in html
    assert f'data-breaker="{used}"' in html
    breaker(tripped).command("release")
    assert "this worker process only" in html  # memory engine in the tests


def test_empty_page_says_how_to_configure(admin_client, settings):
    """With no breaker at all the page explains where breakers come from."""
    runtime.reset(everything=True)  # no breaker used yet
    settings.STABILITY_BREAKERS = {}
    response = admin_client.get(CHANGELIST)
    assert "configure them in STABILITY_BREAKERS" in response.content.decode()


@pytest.mark.parametrize(("action", "state", "forced", "persisted"), OUTCOMES)
def test_actions_apply_and_enter_the_admin_history(
    admin_client, admin_user, name, action, state, forced, persisted
):
    """Each button POSTs through operate(via="admin"): state, database row, LogEntry, message."""
    response = admin_client.post(
        CHANGELIST, {"breaker": name, "action": action}, follow=True
    )
    assert response.redirect_chain == [(CHANGELIST, 302)]
    snapshot = breaker(name).snapshot()
    assert (snapshot.state, snapshot.forced) == (state, forced)
    row = Breaker.objects.get(name=name)
    assert (row.forced, row.changed_by) == (persisted, admin_user)
    assert row.changed_at is not None
    entry = LogEntry.objects.get(object_id=name)
    assert entry.user == admin_user
    assert entry.change_message == f"Circuit breaker: {action}"
    assert name in [str(m) for m in response.context["messages"]][0]
    # The history page of the breaker shows the action, with its user.
    history = admin_client.get(
        reverse("admin:django_stability_breaker_history", args=[name])
    )
    assert f"Circuit breaker: {action}" in history.content.decode()
    assert 'href="' + reverse(
        "admin:django_stability_breaker_history", args=[name]
    ) in (admin_client.get(CHANGELIST).content.decode())


def test_view_permission_sees_but_cannot_act(django_user_model, name):
    """view_breaker shows the page without buttons; a POST anyway is 403 and changes nothing."""
    client, _ = staff_client(django_user_model, "view_breaker")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert name in response.content.decode()
    assert 'value="open"' not in row_of(response, name)
    response = client.post(CHANGELIST, {"breaker": name, "action": "open"})
    assert response.status_code == 403
    assert breaker(name).state == "closed"
    assert not Breaker.objects.exists()
    assert not LogEntry.objects.exists()


def test_change_permission_shows_the_buttons(django_user_model, name):
    """change_breaker alone is enough to see the page and its action buttons."""
    client, _ = staff_client(django_user_model, "change_breaker")
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    row = row_of(response, name)
    for action in ("open", "close", "reset", "release"):
        assert f'value="{action}"' in row
    assert "csrfmiddlewaretoken" in row


def test_staff_without_permission_get_403(django_user_model, name):
    """Staff without either permission may neither see nor act."""
    client, _ = staff_client(django_user_model)
    assert client.get(CHANGELIST).status_code == 403
    assert (
        client.post(CHANGELIST, {"breaker": name, "action": "open"}).status_code == 403
    )
    assert breaker(name).state == "closed"


def test_non_staff_and_anonymous_are_sent_to_the_login(client, django_user_model, name):
    """The admin's own login gate applies: no page, no action, for non-staff or anonymous users."""
    user = django_user_model.objects.create_user(username="plain", password="x")
    user.user_permissions.add(*Permission.objects.filter(codename__endswith="_breaker"))
    for who in (None, user):
        if who is not None:
            client.force_login(who)
        response = client.post(CHANGELIST, {"breaker": name, "action": "open"})
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    assert breaker(name).state == "closed"
    assert not Breaker.objects.exists()


def test_actions_need_the_csrf_token(django_user_model, admin_user, name):
    """A POST without the CSRF token is refused and changes nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(CHANGELIST, {"breaker": name, "action": "open"})
    assert response.status_code == 403
    assert breaker(name).state == "closed"


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        (
            {"breaker": "never-configured", "action": "open"},
            "no circuit breaker called",
        ),
        ({"breaker": "bad name", "action": "open"}, "no circuit breaker called"),
        ({"action": "open"}, "no circuit breaker called"),
        ({"breaker": "{name}", "action": "explode"}, "Unknown action"),
    ],
)
def test_bad_posts_change_nothing(admin_client, name, posted, message):
    """An unknown breaker or action is reported on the page and changes nothing."""
    posted = {k: v.format(name=name) for k, v in posted.items()}
    response = admin_client.post(CHANGELIST, posted, follow=True)
    assert message in [str(m) for m in response.context["messages"]][0]
    assert not Breaker.objects.exists()
    assert breaker(name).state == "closed"


def test_no_add_delete_or_edit(admin_client, name):
    """Breakers are neither added nor deleted here, and a row's change page leads back to the list."""
    admin_client.post(CHANGELIST, {"breaker": name, "action": "open"})
    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    delete = reverse("admin:django_stability_breaker_delete", args=[name])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:django_stability_breaker_change", args=[name])
    response = admin_client.post(change, {"forced": ""})
    assert (response.status_code, response["Location"]) == (302, CHANGELIST)
    assert Breaker.objects.get(name=name).forced == "open"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def engine_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process engine in memory, or on the suite's Redis (keys of this test's breakers removed)."""
    if request.param == "memory":
        yield "memory"
        return
    with override_settings(STABILITY_REDIS_URL=services.REDIS_URL):
        try:
            yield "redis"
        finally:
            get_engine().close()


def test_forced_state_survives_a_shared_state_flush(admin_client, name, engine_mode):
    """A state forced in the admin is restored from the database once the shared state lost it."""
    admin_client.post(CHANGELIST, {"breaker": name, "action": "open"})
    assert breaker(name).state == "open"
    get_engine().delete(*keys_for(name))  # what a Redis flush or restart does
    breaker(name).invalidate()  # and a process whose cached view has expired
    breaker(name).snapshot()  # the next read finds no record and restores it
    snapshot = breaker(name).snapshot()
    assert (snapshot.state, snapshot.forced) == ("open", "open")
    with pytest.raises(CircuitOpenError):
        breaker(name).call(lambda: None)
    if engine_mode == "redis":
        get_engine().delete(*keys_for(name))


def test_first_read_after_a_flush_already_shows_the_restored_state(admin_client, name):
    """The very read that restores a forced state reports it (the admin's first page load)."""
    admin_client.post(CHANGELIST, {"breaker": name, "action": "open"})
    get_engine().delete(*keys_for(name))
    breaker(name).invalidate()
    assert breaker(name).snapshot().forced == "open"


@pytest.mark.parametrize(
    ("url", "notice"),
    [
        pytest.param(
            services.REDIS_URL, "seen by every worker", marks=pytest.mark.redis
        ),
        ("redis://127.0.0.1:1/0", "Redis is unreachable"),  # nothing listens on port 1
    ],
)
def test_page_says_where_the_states_come_from(admin_client, name, url, notice):
    """The page tells whether it shows shared state, or only this process's view of it."""
    with override_settings(STABILITY_REDIS_URL=url):
        try:
            response = admin_client.get(CHANGELIST)
            assert notice in response.content.decode()
            assert f'data-breaker="{name}"' in response.content.decode()
        finally:
            # The page read every breaker of this process: leave no key behind.
            for found in all_breakers():
                get_engine().delete(*keys_for(found.name))
            get_engine().close()
