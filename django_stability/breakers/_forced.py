"""The forced state an operator set, kept in the database so that a restart or a Redis flush cannot lose it.

:func:`forced_action` reads it back; :func:`restoring` tells the database
breaker that such a read (or a block marked with :func:`no_restore`) runs now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_stability.logging import get_logger

if TYPE_CHECKING:
    from django.db.models import Model

log = get_logger("django_stability.breakers")

# Private to this module: read it with restoring(), set it with no_restore().
_restoring: ContextVar[bool] = ContextVar("breaker_restoring", default=False)

_FORCED_ACTION = {"open": "open", "closed": "close"}


def restoring() -> bool:
    """Whether the work running now reads a forced state, or must not (the database breaker lets it pass)."""
    return _restoring.get()


@contextmanager
def no_restore() -> Iterator[None]:
    """Keep breakers from reading or re-applying a forced state from the database in this block."""
    token = _restoring.set(True)
    try:
        yield
    finally:
        _restoring.reset(token)


def forced_action(name: str) -> str | None:
    """The action that re-applies ``name``'s persisted forced state (``"open"``/``"close"``), if any.

    ``None`` inside :func:`no_restore`, or when the database cannot answer.
    """
    if _restoring.get():
        return None
    with no_restore():
        return _read(name)


def _read(name: str) -> str | None:
    from django_stability.models import Breaker

    try:
        forced = (
            Breaker.objects.filter(name=name).values_list("forced", flat=True).first()
        )
    except (
        Exception
    ) as exc:  # the database is a backup here, never a reason to fail a call
        # Before ``migrate`` has created the table (its own first queries go
        # through the database breaker) there is nothing to restore and nothing
        # wrong: say it at DEBUG. A database that fails is worth the warning.
        log.log(
            logging.DEBUG if _table_missing(Breaker) else logging.WARNING,
            "breaker_forced_state_unreadable",
            breaker=name,
            error=f"{type(exc).__name__}: {exc}",
        )
        return None
    return _FORCED_ACTION.get(forced or "")


def _table_missing(model: type[Model]) -> bool:
    """Whether the database answers but has no table for ``model`` (not migrated yet)."""
    from django.db import connections, router

    connection = connections[router.db_for_read(model)]
    try:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
    except Exception:  # the database itself fails: not a missing table
        return False
    return model._meta.db_table not in tables


def record(name: str, action: str, user_id: Any) -> None:
    """Keep the forced state of operator ``action`` in the database, and the action in the admin history."""
    from django.db import transaction

    from django_stability.models import Breaker

    row: Any = {"changed_at": timezone.now(), "changed_by_id": user_id}
    if action in ("open", "close"):
        row["forced"] = "open" if action == "open" else "closed"
    elif action == "release":
        row["forced"] = ""
    with transaction.atomic():
        found, _ = Breaker.objects.update_or_create(name=name, defaults=row)
        if user_id is not None:
            _admin_history(found, user_id, action)


def _admin_history(found: Any, user_id: Any, action: str) -> None:
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.create(
        user_id=user_id,
        content_type=ContentType.objects.get_for_model(found),
        object_id=found.pk,
        object_repr=str(found)[:200],
        action_flag=CHANGE,
        change_message=f"Circuit breaker: {action}",
    )
