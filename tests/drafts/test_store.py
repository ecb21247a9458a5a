"""The Python API: save_draft, get_draft, list_drafts, delete_draft and their async twins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from django_stability.drafts import (
    MAX_DRAFT_DEPTH,
    DraftConflict,
    DraftLimitReached,
    DraftTooLarge,
    InvalidDraft,
    InvalidDraftKey,
    adelete_draft,
    aget_draft,
    alist_drafts,
    asave_draft,
    delete_draft,
    encoded_size,
    get_draft,
    list_drafts,
    save_draft,
)
from django_stability.models import Draft
from tests.drafts.conftest import ago, stored

BAD_KEYS = [
    "",
    ".",
    "..",
    "a" * 201,
    "a/b",
    "notes/1",
    "é",
    "clé",
    "a b",
    "a\n",
    "日本",
]
GOOD_KEYS = ["a", "a" * 200, "note:42.v-1_x", "...", ".a", "a.", "A-Z.0_9:"]


def test_first_save_creates_version_1_with_size_and_expiry(alice, settings):
    """A new draft starts at version 1, knows its JSON size and expires one TTL after the save."""
    settings.STABILITY_DRAFT_TTL = timedelta(hours=3)
    now = timezone.now()
    draft = save_draft(alice, "note", {"title": "é"}, now=now)
    assert (draft.version, draft.size, draft.data) == (
        1,
        len('{"title":"é"}'.encode()),
        {"title": "é"},
    )
    assert draft.created_at == draft.updated_at == now
    assert draft.expires_at == now + timedelta(hours=3)


def test_every_save_bumps_the_version_and_slides_the_expiry(alice):
    """Saving again (no version given) overwrites, adds one to version and renews the expiry."""
    first = save_draft(alice, "note", {"n": 1}, now=ago(days=2))
    second = save_draft(alice, "note", {"n": 2})
    assert second.version == 2
    assert second.data == {"n": 2}
    assert second.expires_at > first.expires_at
    assert second.created_at == first.created_at


def test_save_with_the_current_version_wins(alice):
    """A save naming the stored version is applied."""
    save_draft(alice, "note", "v1")
    assert save_draft(alice, "note", "v2", version=1).version == 2
    assert stored(alice, "note").data == "v2"


def test_stale_version_conflicts_and_keeps_the_stored_draft(alice):
    """A save from an older version raises DraftConflict carrying the stored draft, which stays as it was."""
    save_draft(alice, "note", "v1")
    save_draft(alice, "note", "v2", version=1)
    with pytest.raises(DraftConflict) as caught:
        save_draft(alice, "note", "from an old tab", version=1)
    assert (caught.value.current.version, caught.value.current.data) == (2, "v2")
    assert caught.value.status == 409
    assert stored(alice, "note").data == "v2"


def test_version_0_only_creates(alice):
    """version=0 creates a draft, and conflicts when one exists already."""
    assert save_draft(alice, "note", "new", version=0).version == 1
    with pytest.raises(DraftConflict):
        save_draft(alice, "note", "other", version=0)
    assert stored(alice, "note").data == "new"


def test_version_of_a_vanished_draft_creates_it_anew(alice):
    """A save from version N of a draft deleted meanwhile stores it again at version 1."""
    save_draft(alice, "note", "v1")
    delete_draft(alice, "note")
    assert save_draft(alice, "note", "kept", version=1).version == 1


def test_expired_drafts_are_invisible_everywhere(alice):
    """An expired draft is absent from get, list and Draft.objects while its row waits for the purge."""
    save_draft(alice, "old", "stale", now=ago(days=8))
    save_draft(alice, "new", "fresh")
    assert get_draft(alice, "old") is None
    assert [d.key for d in list_drafts(alice)] == ["new"]
    assert list(Draft.objects.values_list("key", flat=True)) == ["new"]
    assert Draft.all_objects.count() == 2
    assert Draft.all_objects.expired().get().key == "old"


def test_saving_an_expired_key_starts_a_new_draft(alice):
    """Saving under an expired draft's key revives the row as a new draft at version 1."""
    old = save_draft(alice, "note", "stale", now=ago(days=8))
    save_draft(alice, "note", "stale", now=ago(days=8))
    draft = save_draft(alice, "note", "fresh", version=2)
    assert (draft.pk, draft.version, draft.data) == (old.pk, 1, "fresh")
    assert draft.created_at > old.created_at
    assert not draft.is_expired()


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(alice, key):
    """Keys outside 1-200 chars of [A-Za-z0-9._:-], "." and ".." raise InvalidDraftKey (400) and store nothing."""
    with pytest.raises(InvalidDraftKey) as caught:
        save_draft(alice, key, "x")
    assert (caught.value.status, caught.value.code) == (400, "invalid_draft_key")
    with pytest.raises(InvalidDraftKey):
        get_draft(alice, key)
    with pytest.raises(InvalidDraftKey):
        delete_draft(alice, key)
    assert not Draft.all_objects.exists()


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_keys_are_stored(alice, key):
    """Every key of the allowed alphabet and length round-trips."""
    save_draft(alice, key, [1, 2])
    assert stored(alice, key).data == [1, 2]


def test_size_limit_counts_utf8_json_bytes(alice, settings):
    """Data over STABILITY_DRAFT_MAX_BYTES (compact UTF-8 JSON) raises DraftTooLarge naming the limit."""
    settings.STABILITY_DRAFT_MAX_BYTES = 10
    save_draft(alice, "note", "é" * 4)  # "ééé é" is 2 quotes + 8 bytes = 10
    with pytest.raises(DraftTooLarge) as caught:
        save_draft(alice, "note", "é" * 5)
    assert caught.value.status == 413
    assert "STABILITY_DRAFT_MAX_BYTES" in caught.value.detail
    assert stored(alice, "note").data == "é" * 4


@pytest.mark.parametrize(
    "data", [None, float("nan"), float("inf"), "a\x00b", {"k": object()}, "\ud800"]
)
def test_unstorable_data_is_refused(alice, data):
    """null, NaN, infinities, NUL characters, lone surrogates and non-JSON values raise InvalidDraft."""
    with pytest.raises(InvalidDraft):
        save_draft(alice, "note", data)
    assert not Draft.all_objects.exists()


def nested(depth: int) -> list[object]:
    """``depth`` lists inside one another (built in a loop: no recursion to build it either)."""
    data: list[object] = []
    for _ in range(depth - 1):
        data = [data]
    return data


@pytest.mark.parametrize("depth", [MAX_DRAFT_DEPTH + 1, 970, 100_000])
def test_data_nested_too_deep_is_refused_and_nothing_changes(alice, depth):
    """Data nested past MAX_DRAFT_DEPTH raises InvalidDraft (invalid_json) and the stored draft stays."""
    save_draft(alice, "note", {"kept": True})
    with pytest.raises(InvalidDraft) as caught:
        save_draft(alice, "note", {"deep": nested(depth - 1)})
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")
    assert str(MAX_DRAFT_DEPTH) in caught.value.detail
    assert (stored(alice, "note").data, stored(alice, "note").version) == (
        {"kept": True},
        1,
    )


def test_data_exactly_at_the_depth_limit_is_stored(alice):
    """MAX_DRAFT_DEPTH levels of arrays and objects are stored and read back whole."""
    data = {"deep": nested(MAX_DRAFT_DEPTH - 1)}
    assert save_draft(alice, "note", data).version == 1
    assert stored(alice, "note").data == data


def test_shared_and_cyclic_containers_are_measured_without_blowing_up(alice):
    """A container reached by many paths is bounded work; one that holds itself is refused."""
    shared: list[object] = []
    for _ in range(MAX_DRAFT_DEPTH - 1):
        shared = [shared, shared]  # 2**99 paths, 99 containers
    assert encoded_size([[], []]) == 7
    with pytest.raises(InvalidDraft):
        save_draft(
            alice, "note", [shared, [[shared]]]
        )  # 101 deep through the second path
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(InvalidDraft):
        save_draft(alice, "note", cyclic)
    assert not Draft.all_objects.exists()


async def test_async_save_refuses_data_nested_too_deep(alice):
    """asave_draft refuses data nested past MAX_DRAFT_DEPTH too, storing nothing."""
    await asave_draft(alice, "note", "kept")
    with pytest.raises(InvalidDraft) as caught:
        await asave_draft(alice, "note", nested(970))
    assert caught.value.code == "invalid_json"
    kept = await aget_draft(alice, "note")
    assert kept is not None
    assert (kept.data, kept.version) == ("kept", 1)


def test_an_escaped_backslash_before_u0000_is_not_a_nul(alice):
    """The six characters \\u0000 typed as text are stored, only a real NUL is refused."""
    save_draft(alice, "note", "\\u0000")
    assert stored(alice, "note").data == "\\u0000"
    assert encoded_size("\\u0000") == 9


@pytest.mark.parametrize("version", [-1, True, "3", 1.5])
def test_bad_versions_are_refused(alice, version):
    """A version that is not a whole number >= 0 raises InvalidDraft with its own code."""
    with pytest.raises(InvalidDraft) as caught:
        save_draft(alice, "note", "x", version=version)
    assert caught.value.code == "invalid_draft_version"


def test_per_user_limit_counts_live_drafts_only(alice, bob, settings):
    """A new key beyond STABILITY_DRAFTS_PER_USER raises DraftLimitReached; updates and other users still work."""
    settings.STABILITY_DRAFTS_PER_USER = 2
    save_draft(alice, "expired", "x", now=ago(days=8))
    save_draft(alice, "a", "x")
    save_draft(alice, "b", "x")
    with pytest.raises(DraftLimitReached) as caught:
        save_draft(alice, "c", "x")
    assert (caught.value.status, caught.value.code) == (409, "draft_limit_reached")
    assert "STABILITY_DRAFTS_PER_USER" in caught.value.detail
    assert save_draft(alice, "a", "y").version == 2
    assert save_draft(bob, "c", "x").version == 1
    assert get_draft(alice, "c") is None


def test_keys_are_per_owner(alice, bob):
    """Two users' drafts under one key are separate; deleting one leaves the other."""
    save_draft(alice, "note", "alice's")
    save_draft(bob, "note", "bob's")
    assert delete_draft(bob, "note") is True
    assert delete_draft(bob, "note") is False
    assert stored(alice, "note").data == "alice's"
    assert get_draft(bob, "note") is None


def test_list_is_newest_first_without_data(alice, django_assert_num_queries):
    """list_drafts orders by last save and does not load the data."""
    save_draft(alice, "older", "x", now=ago(minutes=5))
    save_draft(alice, "newer", "y")
    drafts = list_drafts(alice)
    assert [d.key for d in drafts] == ["newer", "older"]
    assert "data" in drafts[0].get_deferred_fields()


def test_anonymous_owner_is_a_programming_error(db):
    """Drafts belong to saved users: an anonymous owner raises ValueError."""
    with pytest.raises(ValueError, match="saved user"):
        save_draft(AnonymousUser(), "note", "x")  # type: ignore[arg-type]


async def test_async_twins_behave_like_the_sync_functions(alice):
    """asave_draft, aget_draft, alist_drafts and adelete_draft work from async code."""
    assert (await asave_draft(alice, "note", {"a": 1})).version == 1
    assert (await asave_draft(alice, "note", {"a": 2}, version=1)).version == 2
    again = await aget_draft(alice, "note")
    assert again is not None
    assert again.data == {"a": 2}
    assert [d.key for d in await alist_drafts(alice)] == ["note"]
    assert await adelete_draft(alice, "note") is True
    assert await aget_draft(alice, "note") is None


async def test_async_save_with_version_0_only_creates(alice):
    """asave_draft with version=0 creates the draft, then raises DraftConflict carrying it."""
    assert (await asave_draft(alice, "note", "first", version=0)).version == 1
    with pytest.raises(DraftConflict) as caught:
        await asave_draft(alice, "note", "second", version=0)
    assert (caught.value.current.version, caught.value.current.data) == (1, "first")
