"""The example's one model: a note, optionally owned by a user."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 10_000


class Note(models.Model):
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    body = models.TextField(blank=True, max_length=BODY_MAX_LENGTH)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notes",
    )

    # Spelled out so type checkers know them without this app in their settings.
    objects: ClassVar[models.Manager[Note]] = models.Manager()
    owner_id: int | None

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "title": self.title,
            "body": self.body,
            "updated_at": self.updated_at.isoformat(),
            "owner": self.owner_id,
        }
