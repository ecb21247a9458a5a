"""The errors of the drafts API, each an ApplicationError with its status and code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_stability.errors import ApplicationError

if TYPE_CHECKING:
    from django_stability.models import Draft


class DraftError(ApplicationError):
    """Base class of the errors :func:`save_draft` and friends raise.

    .. versionadded:: 0.1
    """


class InvalidDraftKey(DraftError):
    """The key is not 1-200 characters of ``[A-Za-z0-9._:-]``, or is ``.`` or ``..`` (400 ``invalid_draft_key``).

    .. versionadded:: 0.1
    """

    def __init__(self, key: str) -> None:
        super().__init__(
            "A draft key is 1 to 200 characters among A-Z, a-z, 0-9 and . _ : -, "
            'and not "." or ".."',
            code="invalid_draft_key",
            status=400,
        )
        self.key = key


class InvalidDraft(DraftError):
    """The request body is not a draft: not JSON, no ``data``, a bad ``version`` (400).

    .. versionadded:: 0.1
    """

    def __init__(self, detail: str, *, code: str = "invalid_draft") -> None:
        super().__init__(detail, code=code, status=400)


class DraftTooLarge(DraftError):
    """The draft is over ``STABILITY_DRAFT_MAX_BYTES`` once JSON-encoded (413 ``draft_too_large``).

    .. versionadded:: 0.1
    """

    def __init__(self, limit: int, size: int | None = None) -> None:
        got = f" (this one is {size} bytes)" if size is not None else ""
        super().__init__(
            f"A draft may hold at most {limit} bytes of JSON (STABILITY_DRAFT_MAX_BYTES){got}.",
            code="draft_too_large",
            status=413,
        )
        self.limit = limit
        self.size = size


class DraftLimitReached(DraftError):
    """The owner already has ``STABILITY_DRAFTS_PER_USER`` live drafts (409 ``draft_limit_reached``).

    .. versionadded:: 0.1
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} drafts, the most allowed (STABILITY_DRAFTS_PER_USER); "
            "delete one before saving a new key.",
            code="draft_limit_reached",
            status=409,
        )
        self.limit = limit


class DraftConflict(DraftError):
    """The ``version`` sent is not the stored one (409 ``draft_conflict``); ``current`` is the stored draft.

    .. versionadded:: 0.1
    """

    def __init__(self, current: Draft) -> None:
        super().__init__(
            f"The draft was saved elsewhere meanwhile: it is at version {current.version}. "
            "Merge with the current draft and save again with its version.",
            code="draft_conflict",
            status=409,
        )
        self.current = current
