"""The one view the middleware benchmark requests: a small JSON response from a sync view."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

PAYLOAD = {
    "id": 42,
    "title": "A note",
    "body": "Lorem ipsum dolor sit amet. " * 8,
    "tags": ["a", "b", "c"],
}


def note(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse({**PAYLOAD, "id": pk})


urlpatterns = [path("notes/<int:pk>/", note)]
