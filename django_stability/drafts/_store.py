"""Saving, reading and deleting drafts: the Python API behind the HTTP views."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from django_stability.drafts._errors import (
    DraftConflict,
    DraftLimitReached,
    DraftTooLarge,
)
from django_stability.drafts._settings import RULES
from django_stability.drafts._validation import (
    check_version,
    encoded_size,
    validate_key,
)
from django_stability.models import Draft

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

P = ParamSpec("P")
R = TypeVar("R")

# A save retries only after losing a race to create the same key; twice is already rare.
_ATTEMPTS = 3


def _owner_id(owner: AbstractBaseUser) -> Any:
    if owner.pk is None:
        raise ValueError(
            "a draft belongs to a saved user, not to an anonymous or unsaved one"
        )
    return owner.pk


def save_draft(
    owner: AbstractBaseUser,
    key: str,
    data: Any,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Draft:
    """Store ``data`` as ``owner``'s draft ``key`` and renew its expiry.

    Args:
        owner: The user the draft belongs to.
        key: 1-200 characters of ``[A-Za-z0-9._:-]``.
        data: Any JSON value but null, at most ``STABILITY_DRAFT_MAX_BYTES`` encoded.
        version: The version the caller's copy started from. ``None`` saves
            whatever is stored; ``0`` only creates; ``N`` saves only if the
            stored draft is still at version ``N``. A caller whose draft
            expired or was deleted meanwhile creates it anew.
        now: The current time, for tests; defaults to :func:`django.utils.timezone.now`.

    Returns:
        The stored draft, its ``version`` one more than before (1 when new).

    Raises:
        InvalidDraftKey: A bad key.
        InvalidDraft: Data that is not storable JSON, nested more than
            :data:`MAX_DRAFT_DEPTH` deep, or a bad ``version``.
        DraftTooLarge: Data over ``STABILITY_DRAFT_MAX_BYTES``.
        DraftLimitReached: A new key while the owner has ``STABILITY_DRAFTS_PER_USER`` drafts.
        DraftConflict: The stored draft is not at ``version``; ``.current`` is it.

    .. versionadded:: 0.1
    """
    validate_key(key)
    expected = check_version(version)
    size = encoded_size(data)
    if size > (limit := RULES.value("draft_max_bytes")):
        raise DraftTooLarge(limit, size)
    now = now or timezone.now()
    fields: dict[str, Any] = {
        "data": data,
        "size": size,
        "updated_at": now,
        "expires_at": now + RULES.value("draft_ttl"),
    }
    mine = Draft.all_objects.filter(owner_id=_owner_id(owner), key=key)
    # pragma below: leaving the loop takes three creations lost to concurrent ones in a row.
    for _ in range(_ATTEMPTS):  # pragma: no branch
        with transaction.atomic(using=router.db_for_write(Draft)):
            live = mine.filter(expires_at__gt=now)
            if expected is not None:
                live = live.filter(version=expected)
            # One conditional UPDATE: of two saves from one version, one wins.
            if live.update(**fields, version=F("version") + 1):
                return mine.get()
            if expected is not None and (current := mine.live(now).first()):
                raise DraftConflict(current)
            if _revive_or_create(owner, key, fields, now):
                return mine.get()
    # Three creations lost to as many concurrent ones: report what is stored now.
    raise DraftConflict(mine.get())  # pragma: no cover - three lost races in a row


def _revive_or_create(
    owner: AbstractBaseUser, key: str, fields: dict[str, Any], now: datetime
) -> bool:
    """Create the draft (in the caller's transaction); False when a concurrent save created it first."""
    _one_creation_at_a_time(owner)
    if (limit := RULES.value("drafts_per_user")) <= Draft.all_objects.filter(
        owner_id=_owner_id(owner)
    ).live(now).count():
        raise DraftLimitReached(limit)
    fresh = {**fields, "version": 1, "created_at": now}
    # An expired draft's row still holds the key: it is revived.
    expired = Draft.all_objects.filter(
        owner_id=_owner_id(owner), key=key, expires_at__lte=now
    )
    if expired.update(**fresh):
        return True
    try:
        with transaction.atomic():
            Draft.all_objects.create(owner_id=_owner_id(owner), key=key, **fresh)
    except IntegrityError:
        return False
    return True


def _one_creation_at_a_time(owner: AbstractBaseUser) -> None:
    # On PostgreSQL, creations of one owner's drafts queue on a transaction-level
    # advisory lock, so two new keys saved at once cannot both pass the count of
    # STABILITY_DRAFTS_PER_USER. Other databases serialise writes anyway.
    connection = connections[router.db_for_write(Draft)]
    if (
        connection.vendor != "postgresql"
    ):  # pragma: no cover - the suite runs on PostgreSQL
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"django_stability.draft:{_owner_id(owner)}"],
        )


def get_draft(
    owner: AbstractBaseUser, key: str, *, now: datetime | None = None
) -> Draft | None:
    """``owner``'s live draft ``key``, or None (absent or expired).

    Raises:
        InvalidDraftKey: A bad key.

    .. versionadded:: 0.1
    """
    validate_key(key)
    return (
        Draft.all_objects.live(now).filter(owner_id=_owner_id(owner), key=key).first()
    )


def list_drafts(owner: AbstractBaseUser, *, now: datetime | None = None) -> list[Draft]:
    """``owner``'s live drafts, most recently saved first, without their data.

    .. versionadded:: 0.1
    """
    drafts = Draft.all_objects.live(now).filter(owner_id=_owner_id(owner)).defer("data")
    return list(drafts.order_by("-updated_at", "key"))


def delete_draft(owner: AbstractBaseUser, key: str) -> bool:
    """Delete ``owner``'s draft ``key``; whether there was one (expired or not).

    Raises:
        InvalidDraftKey: A bad key.

    .. versionadded:: 0.1
    """
    validate_key(key)
    deleted, _ = Draft.all_objects.filter(owner_id=_owner_id(owner), key=key).delete()
    return deleted > 0


def _for_async_code(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``func`` for async code: the same call, in a worker thread."""
    threaded = sync_to_async(func)

    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return await threaded(*args, **kwargs)

    call.__name__ = call.__qualname__ = f"a{func.__name__}"
    call.__doc__ = f":func:`{func.__name__}` for async code.\n\n.. versionadded:: 0.1"
    return call


asave_draft = _for_async_code(save_draft)
aget_draft = _for_async_code(get_draft)
alist_drafts = _for_async_code(list_drafts)
adelete_draft = _for_async_code(delete_draft)
