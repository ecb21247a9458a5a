"""One form validates notes for both the HTML page and the JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms

from example_project.notes.models import Note

if TYPE_CHECKING:
    _NoteFormBase = forms.ModelForm[Note]
else:  # ModelForm is generic only in django-stubs, not at runtime
    _NoteFormBase = forms.ModelForm


class NoteForm(_NoteFormBase):
    class Meta:
        model = Note
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}
