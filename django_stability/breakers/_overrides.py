"""Operator actions: change a breaker's shared state, keep forced states in the database, record who."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from django_stability.breakers._breaker import Snapshot, log
from django_stability.breakers._operator import operator_access

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


@dataclass(frozen=True)
class Action:
    """What an operator action did: the breaker after it, and whether the database recorded it.

    .. versionadded:: 0.1
    """

    snapshot: Snapshot
    #: ``False`` when the database could not keep the forced state or the
    #: admin history entry (it is down): the action took effect in the shared
    #: state all the same, but a Redis flush or restart forgets a forced state.
    recorded: bool
    #: Why it was not recorded (``"OperationalError: ..."``), or ``None``.
    error: str | None = None


def act(
    name: str,
    action: str,
    *,
    user: AbstractBaseUser | AnonymousUser | None = None,
    via: str = "api",
) -> Action:
    """Apply an operator ``action`` to breaker ``name``, then record it; see :func:`operate`.

    The action takes effect in the shared state even when the database cannot
    record it (a database that is really down); the answer says whether it
    was recorded. The recording runs in
    :func:`~django_stability.breakers.operator_access`: a ``database`` breaker
    that is open, or forced open, does not stand in its way.

    Raises:
        ValueError: unknown action.

    .. versionadded:: 0.1
    """
    from django_stability.breakers._registry import breaker

    if action not in ACTIONS:
        raise ValueError(
            f"unknown breaker action {action!r}; use one of {', '.join(ACTIONS)}"
        )
    user_id = getattr(user, "pk", None)
    error = None
    # Recorded first: when the shared record is fresh (a Redis flush), the
    # command below restores the forced state from the database, which must
    # already be the new one.
    try:
        with operator_access():
            _record(name, action, user_id)
    except Exception as exc:  # the action stands; only its record is missing
        error = f"{type(exc).__name__}: {exc}"
        log.error(
            "breaker_operator_action_unrecorded",
            breaker=name,
            action=action,
            user_id=user_id,
            via=via,
            error=error,
        )
    snapshot = breaker(name).command(action)
    log.warning(
        "breaker_operator_action",
        breaker=name,
        action=action,
        user_id=user_id,
        via=via,
        state=snapshot.state,
        recorded=error is None,
    )
    return Action(snapshot=snapshot, recorded=error is None, error=error)


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
    ``user``, the action goes into the admin history. It works whatever the
    state of any breaker, ``database`` included; when the database cannot
    record it, the action still takes effect and the log line
    ``breaker_operator_action_unrecorded`` says so (:func:`act` returns that
    too).

    Raises:
        ValueError: unknown action.

    .. versionadded:: 0.1
    """
    return act(name, action, user=user, via=via).snapshot


def _record(name: str, action: str, user_id: Any) -> None:
    """Keep the forced state in the database, and the action in the admin history."""
    from django.db import transaction

    from django_stability.models import Breaker

    row: Any = {"changed_at": timezone.now(), "changed_by_id": user_id}
    if action in ("open", "close"):
        row["forced"] = "open" if action == "open" else "closed"
    elif action == "release":
        row["forced"] = ""
    with transaction.atomic():
        record, _ = Breaker.objects.update_or_create(name=name, defaults=row)
        if user_id is not None:
            _admin_history(record, user_id, action)


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
