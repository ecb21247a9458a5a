"""The JSON API under ``/api/notes/``.

Errors are raised, never hand-built: ``ApplicationError`` (and Django's ``Http404``)
become ``application/problem+json`` through ``ProblemDetailsMiddleware``, with the
request's correlation ID, because ``/api/`` is in ``STABILITY_API_PREFIXES``.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from django_stability.errors import ApplicationError
from example_project.notes.forms import NoteForm
from example_project.notes.models import Note

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


# CSRF: the API only accepts ``Content-Type: application/json`` for writes, which a
# cross-site page cannot send without a CORS preflight that this site never grants.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def notes(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    limit = _limit(request.GET.get("limit"))
    return JsonResponse(
        {"notes": [note.as_json() for note in Note.objects.all()[:limit]]}
    )


@require_http_methods(["GET", "HEAD"])
def note(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse(get_object_or_404(Note, pk=pk).as_json())


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        raise ApplicationError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            code="invalid_limit",
            status=400,
        )
    return int(raw)


def _create(request: HttpRequest) -> HttpResponse:
    if request.content_type != "application/json":
        raise ApplicationError(
            "Send the note as application/json.",
            code="unsupported_media_type",
            status=415,
        )
    form = NoteForm(_fields(_json_object(request.body)))
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}"
            for field, errors in form.errors.items()
        )
        raise ApplicationError(problems, code="invalid_note", status=400)
    created = form.save(commit=False)
    created.owner = request.user if request.user.is_authenticated else None
    created.save()
    response = JsonResponse(created.as_json(), status=201)
    response["Location"] = reverse("notes:api-note", args=[created.pk])
    return response


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise ApplicationError(
            "The body is not valid JSON.", code="invalid_json", status=400
        ) from None
    if not isinstance(payload, dict):
        raise ApplicationError(
            "The body must be a JSON object.", code="invalid_json", status=400
        )
    return payload


def _fields(payload: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(payload) - {"title", "body"})
    if unknown:
        raise ApplicationError(
            f"Unknown field {unknown[0]!r}.", code="invalid_note", status=400
        )
    # Strings only: a form would quietly turn 42 or true into "42" / "True".
    for name, value in payload.items():
        if not isinstance(value, str):
            raise ApplicationError(
                f"{name} must be a string.", code="invalid_note", status=400
            )
    return payload
