"""The JSON shapes of drafts in the HTTP API (DESIGN.md, "HTTP surface")."""

from __future__ import annotations

from typing import Any

from django_stability.models import Draft


def draft_json(draft: Draft) -> dict[str, Any]:
    """``{"key", "data", "version", "updated_at", "expires_at"}``, times in ISO 8601.

    .. versionadded:: 0.1
    """
    return {"key": draft.key, "data": draft.data, **_versioned(draft)}


def summary_json(draft: Draft) -> dict[str, Any]:
    """``{"key", "version", "updated_at", "expires_at", "size"}``: a list entry, without the data.

    .. versionadded:: 0.1
    """
    return {"key": draft.key, **_versioned(draft), "size": draft.size}


def _versioned(draft: Draft) -> dict[str, Any]:
    return {
        "version": draft.version,
        "updated_at": draft.updated_at.isoformat(),
        "expires_at": draft.expires_at.isoformat(),
    }
