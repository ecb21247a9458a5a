"""The models: a draft past its expiry is gone from ``Draft.objects`` before the purge, and kept for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction

from django_stability.models import Breaker, Draft

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def _draft(user: Any, key: str, expires_in: timedelta) -> Draft:
    return Draft.all_objects.create(
        owner=user, key=key, data={"text": key}, created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1), expires_at=NOW + expires_in,
    )  # fmt: skip


def test_an_expired_draft_is_invisible_but_still_there_to_purge(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    live = _draft(alice, "live", timedelta(hours=1))
    old = _draft(
        alice, "old", timedelta(seconds=0)
    )  # expiring at NOW counts as expired
    assert list(Draft.all_objects.live(NOW)) == [live]
    assert list(Draft.all_objects.expired(NOW)) == [old]
    assert (live.is_expired(NOW), old.is_expired(NOW)) == (False, True)
    past = _draft(alice, "past", timedelta(days=-365 * 50))  # expired by any clock
    assert past not in Draft.objects.all()
    assert past in Draft.all_objects.all()


def test_one_draft_per_user_and_key(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    _draft(alice, "note", timedelta(hours=1))
    _draft(bob, "note", timedelta(hours=1))  # another user's key of the same name
    with pytest.raises(IntegrityError), transaction.atomic():
        _draft(alice, "note", timedelta(hours=1))


def test_breaker_permissions_are_view_and_change_only():
    """The admin, the JSON endpoints and the docs name these two; nobody adds or deletes a breaker."""
    codenames = set(
        Permission.objects.filter(content_type__app_label="django_stability", content_type__model="breaker")
        .values_list("codename", flat=True)
    )  # fmt: skip
    assert codenames == {"view_breaker", "change_breaker"}
    assert str(Breaker(name="database")) == "database"
