"""Live updates: every saved note is broadcast on the ``notes`` channel.

The page subscribes with ``StabilitySocket("notes")`` (``stability.js``), so a
note saved in one tab (form or API) shows up in every other open tab, and a tab
that was offline or hidden catches up from the replay log when it comes back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from django_stability.realtime import broadcast
from example_project.notes.models import Note

CHANNEL = "notes"


@receiver(post_save, sender=Note, dispatch_uid="notes.live")
def note_saved(sender: type[Note], instance: Note, **kwargs: Any) -> None:
    # After commit: a subscriber must never see a note a rollback undid.
    transaction.on_commit(lambda: broadcast(CHANNEL, {"note": instance.as_json()}))
