"""Saving, reading and deleting drafts: the Python API behind the HTTP views.

A save is one conditional ``UPDATE`` (``WHERE version = N`` when the caller
names the version it started from), so two saves racing from the same version
cannot both win: PostgreSQL re-checks the condition on the row the winner
committed, and the loser sees no row updated and gets :class:`DraftConflict`
with the stored draft. A save that finds no live draft creates one (reviving
the row of an expired draft, whose key is still taken in the table).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from django_stability.conf import conf
from django_stability.drafts._errors import (
    DraftConflict,
    DraftLimitReached,
    DraftTooLarge,
    InvalidDraft,
    InvalidDraftKey,
)
from django_stability.models import Draft

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = [
    "adelete_draft",
    "aget_draft",
    "alist_drafts",
    "asave_draft",
    "delete_draft",
    "encoded_size",
    "get_draft",
    "MAX_DRAFT_DEPTH",
    "list_drafts",
    "save_draft",
    "validate_key",
]

# "." and ".." are refused: clients remove them from a URL as dot segments, so
# the API could never address such a draft.
_KEY = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._:-]{1,200}", re.ASCII)
# An escaped NUL that is not itself an escaped backslash: PostgreSQL's jsonb refuses it.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_DRAFT_DEPTH = 100
"""How deeply a draft's data may nest arrays and objects (``{"a": [1]}`` is 2 deep).

Deeper data is refused before anything is stored: around 1,000 levels the JSON
encoders (Python's, psycopg's) run out of stack, and no form needs a tenth of this.
"""
_CONTAINERS = (dict, list, tuple)
# A save retries only after losing a race to create the same key; twice is already rare.
_ATTEMPTS = 3


def validate_key(key: object) -> str:
    """``key`` if it is 1-200 characters of ``[A-Za-z0-9._:-]``, other than ``.`` and ``..``.

    Those two are refused because clients remove them from a URL as dot
    segments: the HTTP API could never read or delete such a draft.

    Raises:
        InvalidDraftKey: Any other value.

    .. versionadded:: 0.1
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidDraftKey(str(key))
    return key


def encoded_size(data: Any) -> int:
    """The size in bytes of ``data`` as compact UTF-8 JSON, the size the limit applies to.

    Raises:
        InvalidDraft: ``data`` is None, cannot be stored as JSON (NaN,
            infinities, lone surrogates, NUL characters, non-JSON types) or
            nests arrays and objects more than :data:`MAX_DRAFT_DEPTH` deep
            (code ``invalid_json``).

    .. versionadded:: 0.1
    """
    if data is None:
        raise InvalidDraft("A draft's data must not be null.")
    if not _nests_within(data, MAX_DRAFT_DEPTH):
        raise InvalidDraft(
            f"A draft's data may nest arrays and objects at most {MAX_DRAFT_DEPTH} deep.",
            code="invalid_json",
        )
    try:
        text = json.dumps(
            data, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        size = len(text.encode())
    except (TypeError, ValueError, RecursionError):
        raise InvalidDraft("A draft's data must be plain JSON.") from None
    if _NUL.search(text):
        raise InvalidDraft("A draft's data must not contain NUL characters.")
    return size


def _nests_within(data: Any, limit: int) -> bool:
    """Whether no array or object in ``data`` is more than ``limit`` deep; a loop, not recursion.

    A container shared by several paths (or by itself, a cycle) is walked again
    only when reached deeper than before, so the work stays bounded by
    ``limit`` times the number of containers however they are shared.
    """
    deepest: dict[int, int] = {}
    if not isinstance(data, _CONTAINERS):
        return True
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        if deepest.get(id(value), 0) >= depth:
            continue
        deepest[id(value)] = depth
        children = value.values() if isinstance(value, dict) else value
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, _CONTAINERS)
        )
    return True


def _owner_id(owner: AbstractBaseUser) -> Any:
    if owner.pk is None:
        raise ValueError(
            "a draft belongs to a saved user, not to an anonymous or unsaved one"
        )
    return owner.pk


def _check_version(version: object) -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidDraft(
            "version must be a whole number >= 0 (0: the draft must not exist yet).",
            code="invalid_draft_version",
        )
    return version


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
    expected = _check_version(version)
    size = encoded_size(data)
    if size > (limit := conf.draft_max_bytes):
        raise DraftTooLarge(limit, size)
    now = now or timezone.now()
    fields: dict[str, Any] = {
        "data": data,
        "size": size,
        "updated_at": now,
        "expires_at": now + conf.draft_ttl,
    }
    mine = Draft.all_objects.filter(owner_id=_owner_id(owner), key=key)
    # pragma below: leaving the loop takes three creations lost to concurrent ones in a row.
    for _ in range(_ATTEMPTS):  # pragma: no branch
        with transaction.atomic(using=router.db_for_write(Draft)):
            live = mine.filter(expires_at__gt=now)
            if expected is not None:
                live = live.filter(version=expected)
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
    if (limit := conf.drafts_per_user) <= Draft.all_objects.filter(
        owner_id=_owner_id(owner)
    ).live(now).count():
        raise DraftLimitReached(limit)
    fresh = {**fields, "version": 1, "created_at": now}
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


async def asave_draft(
    owner: AbstractBaseUser,
    key: str,
    data: Any,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Draft:
    """:func:`save_draft` for async code (one transaction in a worker thread).

    .. versionadded:: 0.1
    """
    return await sync_to_async(save_draft)(owner, key, data, version=version, now=now)


async def aget_draft(
    owner: AbstractBaseUser, key: str, *, now: datetime | None = None
) -> Draft | None:
    """:func:`get_draft` for async code.

    .. versionadded:: 0.1
    """
    return await sync_to_async(get_draft)(owner, key, now=now)


async def alist_drafts(
    owner: AbstractBaseUser, *, now: datetime | None = None
) -> list[Draft]:
    """:func:`list_drafts` for async code.

    .. versionadded:: 0.1
    """
    return await sync_to_async(list_drafts)(owner, now=now)


async def adelete_draft(owner: AbstractBaseUser, key: str) -> bool:
    """:func:`delete_draft` for async code.

    .. versionadded:: 0.1
    """
    return await sync_to_async(delete_draft)(owner, key)
