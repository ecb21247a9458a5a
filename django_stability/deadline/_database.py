"""Queries under a deadline: refused once it has passed, and cancelled by PostgreSQL when it passes.

On PostgreSQL each query under a deadline is preceded by one statement that
sets ``statement_timeout`` to the time left (or to the connection's own
default when that is shorter); a connection so changed gets its default back
(``RESET``) before its next query without a deadline, so a pooled connection
never carries one request's budget into another's.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from django_stability.deadline._context import Deadline, DeadlineExceeded, current

_DISPATCH_UID = "django_stability.deadline.database"
_QUERY_CANCELED = (
    "57014"  # SQLSTATE query_canceled: statement_timeout, or a cancel request
)

# The session default (pg_settings.reset_val: what RESET restores) wins when it is
# shorter than the time left; the second column says whether it did.
_CAP = (
    "SELECT set_config('statement_timeout', CASE WHEN s.reset_val::bigint BETWEEN 1 AND %s "
    "THEN s.reset_val ELSE %s END, false), s.reset_val::bigint BETWEEN 1 AND %s "
    "FROM pg_settings s WHERE s.name = 'statement_timeout'"
)
_RESET = "RESET statement_timeout"

# The driver connections whose statement_timeout a deadline changed.
_changed: weakref.WeakSet[Any] = weakref.WeakSet()
_changed_lock = threading.Lock()
_installed = False


def _cancelled(exc: BaseException) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == _QUERY_CANCELED


def _cap(connection: BaseDatabaseWrapper, found: Deadline) -> bool:
    """Set the query's time limit from ``found``; whether the deadline (not the default) is the limit."""
    left = found.remaining_ms()
    if left <= 0:
        raise DeadlineExceeded(found.budget, "database")
    # A cursor of its own: the query's may be a named (server-side) one.
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(_CAP, [left, str(left), left])
        row = cursor.fetchone()
    with _changed_lock:
        _changed.add(connection.connection)
    return not row[1]


def _restore(connection: BaseDatabaseWrapper) -> None:
    with _changed_lock:
        if connection.connection not in _changed:
            return
        _changed.discard(connection.connection)
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(_RESET)


class DeadlineGuard:
    """The execute wrapper: one query under the current deadline, if any."""

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        connection: BaseDatabaseWrapper = context["connection"]
        found = current()
        if connection.vendor != "postgresql" or connection.needs_rollback:
            # Elsewhere nothing cancels a query: refuse to start one too late.
            # In a broken transaction Django refuses the query itself.
            if found is not None and not connection.needs_rollback:
                found.check("database")
            return execute(sql, params, many, context)
        if found is None:
            _restore(connection)
            return execute(sql, params, many, context)
        by_deadline = _cap(connection, found)
        try:
            return execute(sql, params, many, context)
        except DatabaseError as exc:
            if by_deadline and _cancelled(exc):
                raise DeadlineExceeded(found.budget, "database") from exc
            raise


_guard = DeadlineGuard()


def _install_on(connection: BaseDatabaseWrapper) -> None:
    if not any(isinstance(w, DeadlineGuard) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(_guard)


def _on_connection_created(
    sender: object, connection: BaseDatabaseWrapper, **kwargs: Any
) -> None:
    _install_on(connection)


def install_database_guard() -> None:
    """Put every database query of this process under the current deadline (idempotent).

    Each connection gets the guard when it connects (and those of this
    thread already open get it now). Without a deadline a query costs one
    context-variable read more.
    """
    global _installed
    if _installed:
        return
    connection_created.connect(_on_connection_created, dispatch_uid=_DISPATCH_UID)
    for connection in connections.all(initialized_only=True):
        _install_on(connection)
    _installed = True
