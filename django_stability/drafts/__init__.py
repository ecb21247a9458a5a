"""Drafts (autosave): per-user JSON documents that outlive a crash, with optimistic concurrency.

``save_draft(user, key, data, version=N)`` stores a draft only if it is still
at version ``N`` (else :class:`DraftConflict` carries the stored one);
expired drafts are invisible before ``manage.py purge_drafts`` deletes them.
``docs/drafts.rst`` describes the HTTP API and the browser client.
"""

from __future__ import annotations

from django_stability.drafts._errors import (
    DraftConflict,
    DraftError,
    DraftLimitReached,
    DraftTooLarge,
    InvalidDraft,
    InvalidDraftKey,
)
from django_stability.drafts._json import draft_json, summary_json
from django_stability.drafts._store import (
    MAX_DRAFT_DEPTH,
    adelete_draft,
    aget_draft,
    alist_drafts,
    asave_draft,
    delete_draft,
    encoded_size,
    get_draft,
    list_drafts,
    save_draft,
    validate_key,
)

__all__ = [
    "DraftConflict",
    "DraftError",
    "DraftLimitReached",
    "DraftTooLarge",
    "InvalidDraft",
    "InvalidDraftKey",
    "MAX_DRAFT_DEPTH",
    "adelete_draft",
    "aget_draft",
    "alist_drafts",
    "asave_draft",
    "delete_draft",
    "draft_json",
    "encoded_size",
    "get_draft",
    "list_drafts",
    "save_draft",
    "summary_json",
    "validate_key",
]
