"""What a draft may be: its key, its data (JSON, its size, how deep it nests) and the version sent."""

from __future__ import annotations

import json
import re
from typing import Any

from django_stability.drafts._errors import InvalidDraft, InvalidDraftKey

# "." and ".." are refused: clients remove them from a URL as dot segments.
_KEY = re.compile(r"(?!\.\.?\Z)[A-Za-z0-9._:-]{1,200}", re.ASCII)
# An escaped NUL that is not itself an escaped backslash: PostgreSQL's jsonb refuses it.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_DRAFT_DEPTH = 100
"""How deeply a draft's data may nest arrays and objects (``{"a": [1]}`` is 2 deep)."""
_CONTAINERS = (dict, list, tuple)


def validate_key(key: object) -> str:
    """``key`` if it is 1-200 characters of ``[A-Za-z0-9._:-]``, other than ``.`` and ``..``.

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
    """Whether no array or object in ``data`` is more than ``limit`` deep; a loop, not recursion."""
    deepest: dict[int, int] = {}
    if not isinstance(data, _CONTAINERS):
        return True
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        # A container reached again (shared, or a cycle) is walked only when deeper than before.
        if deepest.get(id(value), 0) >= depth:
            continue
        deepest[id(value)] = depth
        children = value.values() if isinstance(value, dict) else value
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, _CONTAINERS)
        )
    return True


def check_version(version: object) -> int | None:
    """The version a save names: ``None`` or a whole number >= 0 (0: create only)."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidDraft(
            "version must be a whole number >= 0 (0: the draft must not exist yet).",
            code="invalid_draft_version",
        )
    return version
