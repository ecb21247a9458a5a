"""``stability/drafts/``: the logged-in user's drafts as JSON (list, get, put, delete).

Session authentication with Django's CSRF protection on PUT and DELETE;
every error is a problem details body (``docs/drafts.rst`` lists the codes).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from django_stability.drafts import (
    DraftConflict,
    DraftError,
    DraftTooLarge,
    InvalidDraft,
    delete_draft,
    draft_json,
    get_draft,
    list_drafts,
    save_draft,
    summary_json,
    validate_key,
)
from django_stability.drafts._settings import RULES
from django_stability.errors import problem_response
from django_stability.errors._problem import CONTENT_TYPE
from django_stability.views._auth import (
    method_not_allowed,
    no_store,
    unauthorized,
    user_of,
)

_LIST = ("GET", "HEAD")
_ONE = ("GET", "HEAD", "PUT", "DELETE")


def drafts(request: HttpRequest) -> HttpResponse:
    """``GET``: ``{"drafts": [{"key", "version", "updated_at", "expires_at", "size"}]}``, newest first.

    .. versionadded:: 0.1
    """
    if request.method not in _LIST:
        return method_not_allowed(_LIST)
    if (user := user_of(request)) is None:
        return unauthorized()
    entries = [summary_json(d) for d in list_drafts(user)]
    return no_store(JsonResponse({"drafts": entries}))


def draft(request: HttpRequest, key: str) -> HttpResponse:
    """``GET``, ``PUT`` or ``DELETE`` the logged-in user's draft ``key``.

    ``PUT`` takes ``{"data": <json>, "version": <int, optional>}`` and answers
    200 with the stored draft, or 409 with the stored one under ``"draft"``
    when ``version`` is stale. ``version`` omitted or null creates or
    replaces; ``0`` only creates (409 if a live draft exists); ``N`` saves
    only over version ``N``; anything else is a 400. Another user's draft is
    answered as absent.

    .. versionadded:: 0.1
    """
    if request.method not in _ONE:
        return method_not_allowed(_ONE)
    if (user := user_of(request)) is None:
        return unauthorized()
    try:
        validate_key(key)
        if request.method == "DELETE":
            delete_draft(user, key)
            return no_store(HttpResponse(status=204))
        if request.method == "PUT":
            data, version = _draft_body(request)
            return no_store(
                JsonResponse(draft_json(save_draft(user, key, data, version=version)))
            )
        found = get_draft(user, key)
    except DraftConflict as conflict:
        return _conflict(conflict)
    except DraftError as error:
        return no_store(error.problem().to_response())
    if found is None:
        return no_store(
            problem_response(404, detail="No such draft.", code="draft_not_found")
        )
    return no_store(JsonResponse(draft_json(found)))


def _draft_body(request: HttpRequest) -> tuple[Any, Any]:
    try:
        raw = request.body
    except RequestDataTooBig:
        # Django's DATA_UPLOAD_MAX_MEMORY_SIZE: refused before it is read.
        raise DraftTooLarge(RULES.value("draft_max_bytes")) from None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidDraft(
            "The request body must be JSON (UTF-8).", code="invalid_json"
        ) from None
    if not isinstance(body, dict) or "data" not in body:
        raise InvalidDraft(
            'The request body must be a JSON object with a "data" member, '
            'and optionally "version".'
        )
    return body["data"], body.get("version")


def _conflict(conflict: DraftConflict) -> HttpResponse:
    body = conflict.problem().as_dict() | {"draft": draft_json(conflict.current)}
    return no_store(
        HttpResponse(json.dumps(body), status=409, content_type=CONTENT_TYPE)
    )
