"""Live updates: every saved note is broadcast on the ``notes`` channel.

The page subscribes with ``StabilitySocket("notes")`` (``stability.js``), so a
note saved in one tab (form or API) shows up in every other open tab, and a tab
that was offline or hidden catches up from the replay log when it comes back.

Each event carries the note twice: ``note``, its JSON (as the API answers it),
and ``html``, rendered from the fragment the page's list uses
(``notes/_note.html``), so a note that arrives live looks exactly like one the
page rendered: same markup, line breaks, date line.

While Redis is down the replay log refuses new events (``StateUnavailable``):
the note is saved all the same, only its live update is skipped, and the
save is not answered 500 for it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.template.loader import render_to_string

from django_stability.realtime import broadcast
from django_stability.state import StateUnavailable
from example_project.notes.models import Note

CHANNEL = "notes"
FRAGMENT = "notes/_note.html"

logger = logging.getLogger("example_project.notes")


def publish(note: Note) -> None:
    """Broadcast a saved note; an unreachable replay log costs the live update only."""
    event = {"note": note.as_json(), "html": render_to_string(FRAGMENT, {"note": note})}
    try:
        broadcast(CHANNEL, event)
    except StateUnavailable as exc:
        logger.warning("live update of note %s not sent: %s", note.pk, exc)


@receiver(post_save, sender=Note, dispatch_uid="notes.live")
def note_saved(sender: type[Note], instance: Note, **kwargs: Any) -> None:
    # After commit: a subscriber must never see a note a rollback undid.
    transaction.on_commit(lambda: publish(instance))
