"""The HTML page: list the latest notes and create one (post/redirect/get)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from django_stability.conf import conf
from django_stability.correlation import get_correlation_id
from example_project.notes.forms import NoteForm
from example_project.notes.models import Note

PAGE_SIZE = 50


@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    form = NoteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        note = form.save(commit=False)
        note.owner = request.user if request.user.is_authenticated else None
        note.save()
        messages.success(request, f"Saved “{note.title}”.")
        return HttpResponseRedirect(reverse("notes:index"))
    context = {
        "form": form,
        "notes": Note.objects.all()[:PAGE_SIZE],
        "correlation_id": get_correlation_id(),
        # stability.js compares it with each response's X-App-Version.
        "app_version": conf.app_version,
    }
    return render(
        request, "notes/index.html", context, status=400 if form.errors else 200
    )
