"""The drafts admin: the list, the expired filter and the purge action, under WSGI and ASGI."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from django_stability.drafts import save_draft
from django_stability.models import Draft
from tests.drafts.conftest import Api, ago
from tests.http_modes import MODES

pytestmark = pytest.mark.urls("tests.drafts.admin_urls")
modes = pytest.mark.parametrize("mode", MODES)
LIST = "/admin/django_stability/draft/"


@pytest.fixture
def operator(transactional_db, django_user_model):
    """A superuser looking at everybody's drafts."""
    return django_user_model.objects.create_superuser("ops", password="not-used")


@pytest.fixture
def some_drafts(alice):
    """Two live drafts and one expired one of alice's."""
    save_draft(alice, "live-note", {"text": "hello"})
    save_draft(alice, "live-todo", [1, 2, 3])
    save_draft(alice, "stale-note", "x", now=ago(days=9))


@modes
async def test_list_shows_owner_key_size_dates_and_expiry(mode, operator, some_drafts):
    """The changelist shows every draft, the expired one too, with owner, key, size, updated and expires."""
    response = await Api(mode, operator)("get", LIST)
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "live-note",
        "live-todo",
        "stale-note",
        "alice",
        "Size in bytes",
        "Updated at",
        "Expires at",
    ):
        assert text in page
    assert response.context["cl"].result_count == 3


@modes
@pytest.mark.parametrize(
    ("value", "keys"), [("yes", ["stale-note"]), ("no", ["live-note", "live-todo"])]
)
async def test_expired_filter(mode, operator, some_drafts, value, keys):
    """The "expired" filter shows only the expired drafts, or only the live ones."""
    response = await Api(mode, operator)("get", f"{LIST}?expired={value}")
    assert response.status_code == 200
    assert sorted(d.key for d in response.context["cl"].result_list) == keys


@modes
async def test_purge_action_deletes_only_the_expired_selected_drafts(
    mode, operator, some_drafts
):
    """Purging a selection of live and expired drafts deletes the expired ones and says what it kept."""
    ids = await sync_to_async(
        lambda: list(Draft.all_objects.values_list("pk", flat=True))
    )()
    response = await Api(mode, operator)(
        "post",
        LIST,
        raw=None,
        form={"action": "purge_expired", "_selected_action": [str(pk) for pk in ids]},
    )
    assert response.status_code == 302
    keys = await sync_to_async(
        lambda: sorted(Draft.all_objects.values_list("key", flat=True))
    )()
    assert keys == ["live-note", "live-todo"]
    page = await Api(mode, operator)("get", LIST)
    assert page.status_code == 200


@modes
async def test_drafts_cannot_be_added_or_edited(mode, operator, some_drafts):
    """There is no add page, and a draft's page is read-only."""
    me = Api(mode, operator)
    assert (await me("get", LIST + "add/")).status_code == 403
    pk = await sync_to_async(lambda: Draft.all_objects.get(key="live-note").pk)()
    page = await me("get", f"{LIST}{pk}/change/")
    assert page.status_code == 200
    assert "hello" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()


@modes
async def test_the_user_model_name_field_is_searchable(
    mode, operator, some_drafts, bob
):
    """Searching by the owner's username finds their drafts only."""
    await sync_to_async(save_draft)(bob, "bobs", "x")
    response = await Api(mode, operator)("get", f"{LIST}?q=bob")
    assert [d.key for d in response.context["cl"].result_list] == ["bobs"]


def test_the_project_admin_lists_drafts():
    """Django's own admin site has the drafts page, next to the circuit breakers."""
    from django.contrib import admin

    from django_stability.drafts._admin import DraftAdmin
    from django_stability.models import Breaker, Draft

    assert isinstance(admin.site._registry[Draft], DraftAdmin)
    assert Breaker in admin.site._registry
