"""The HTML page: list the latest notes and create one (post/redirect/get)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from django_stability.conf import conf
from django_stability.correlation import get_correlation_id
from django_stability.drafts import draft_json, get_draft
from example_project.notes.forms import NoteForm
from example_project.notes.models import Note

PAGE_SIZE = 50
DRAFT_KEY = "notes:new"  # the note form's draft, saved by stability.js's autosave()


@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    form = NoteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        note = form.save(commit=False)
        note.owner = request.user if request.user.is_authenticated else None
        note.save()
        messages.success(request, f"Saved “{note.title}”.")
        return HttpResponseRedirect(reverse("notes:index"))
    context: dict[str, Any] = {
        "form": form,
        "notes": Note.objects.all()[:PAGE_SIZE],
        "correlation_id": get_correlation_id(),
        # stability.js compares it with each response's X-App-Version.
        "app_version": conf.app_version,
    }
    if request.user.is_authenticated:
        # Rendered into the page, so autosave() needs no GET (and no 404 when there is none).
        draft = get_draft(request.user, DRAFT_KEY)
        context["draft_key"] = DRAFT_KEY
        # The device copy of the draft expires when the server's would (STABILITY_DRAFT_TTL).
        context["draft_ttl_ms"] = int(conf.draft_ttl.total_seconds() * 1000)
        context["draft"] = draft_json(draft) if draft is not None else None
    return render(
        request, "notes/index.html", context, status=400 if form.errors else 200
    )
