from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from example_project.notes.models import Note

if TYPE_CHECKING:
    _NoteAdminBase = admin.ModelAdmin[Note]
else:  # ModelAdmin is generic only in django-stubs, not at runtime
    _NoteAdminBase = admin.ModelAdmin


@admin.register(Note)
class NoteAdmin(_NoteAdminBase):
    list_display = ["title", "owner", "updated_at"]
    search_fields = ["title", "body"]
