"""Operator actions: change a breaker's shared state, keep forced states in the database, record who."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_stability.breakers._breaker import Snapshot, log

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import Model

#: The operator actions, as the JSON endpoints and ``manage.py breakers`` name them.
ACTIONS = ("open", "close", "reset", "release")

_FORCED_ACTION = {"open": "open", "closed": "close"}


def forced_in_database(name: str) -> str | None:
    """The action that re-applies ``name``'s persisted forced state (``"open"``/``"close"``), if any.

    A database that cannot answer (down, not migrated, not allowed in a test)
    means "nothing known": the breaker keeps running on its shared state.
    """
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


def operate(
    name: str,
    action: str,
    *,
    user: AbstractBaseUser | AnonymousUser | None = None,
    via: str = "api",
) -> Snapshot:
    """Apply an operator ``action`` to breaker ``name`` and record it.

    ``open`` and ``close`` force the state and persist it; ``release`` ends a
    forced state (and closes the breaker with fresh counters); ``reset`` clears
    the counters and closes it, leaving a forced state in place. With a
    ``user``, the action goes into the admin history.

    Raises:
        ValueError: unknown action.

    .. versionadded:: 0.1
    """
    from django_stability.breakers._registry import breaker
    from django_stability.models import Breaker

    if action not in ACTIONS:
        raise ValueError(
            f"unknown breaker action {action!r}; use one of {', '.join(ACTIONS)}"
        )
    user_id = getattr(user, "pk", None)
    row: Any = {
        "changed_at": timezone.now(),
        "changed_by_id": user_id,
    }
    if action in ("open", "close"):
        row["forced"] = "open" if action == "open" else "closed"
    elif action == "release":
        row["forced"] = ""
    record, _ = Breaker.objects.update_or_create(name=name, defaults=row)
    snapshot = breaker(name).command(action)
    if user_id is not None:
        _admin_history(record, user_id, action)
    log.warning(
        "breaker_operator_action",
        breaker=name,
        action=action,
        user_id=user_id,
        via=via,
        state=snapshot.state,
    )
    return snapshot


def _admin_history(record: Any, user_id: Any, action: str) -> None:
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.create(
        user_id=user_id,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        object_repr=str(record)[:200],
        action_flag=CHANGE,
        change_message=f"Circuit breaker: {action}",
    )
