from __future__ import annotations

from django.urls import path

from example_project.notes import api, views

app_name = "notes"

urlpatterns = [
    path("", views.index, name="index"),
    path("api/notes/", api.notes, name="api-notes"),
    path("api/notes/<int:pk>", api.note, name="api-note"),
]
