from __future__ import annotations

from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "example_project.notes"
    label = "notes"
    verbose_name = "Notes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from example_project.notes import live  # noqa: F401  (connects the receiver)
