"""Drafts (autosave): per-user JSON documents that outlive a crash (``docs/drafts.rst``)."""

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
    adelete_draft,
    aget_draft,
    alist_drafts,
    asave_draft,
    delete_draft,
    get_draft,
    list_drafts,
    save_draft,
)
from django_stability.drafts._validation import (
    MAX_DRAFT_DEPTH,
    encoded_size,
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
