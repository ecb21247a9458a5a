"""Queries under a deadline: refused once it has passed, and cancelled by PostgreSQL when it passes.

On PostgreSQL each query under a deadline is preceded by one statement that
sets ``statement_timeout`` to the time left (none when the connection's own
timeout, read once per connection, is shorter). A connection so changed gets
its own timeout back (``RESET``) before its next query without a deadline, so
a pooled connection never carries one request's budget into another's.
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

# The connection's own statement_timeout (what RESET restores), read once per connection.
_DEFAULT = "SELECT reset_val::bigint FROM pg_settings WHERE name = 'statement_timeout'"
_RESET = "RESET statement_timeout"

# Driver connection -> its own statement_timeout (ms, 0: none); the driver
# connections whose statement_timeout a deadline changed.
_defaults: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
_changed: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_installed = False


def _cancelled(exc: BaseException) -> bool:
    cause = exc.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return code == _QUERY_CANCELED


def _run(connection: BaseDatabaseWrapper, sql: str) -> Any:
    # A cursor of its own: the query's may be a named (server-side) one.
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone() if cursor.description else None


def _default_ms(connection: BaseDatabaseWrapper) -> int:
    raw = connection.connection
    with _lock:
        found = _defaults.get(raw)
    if found is None:
        found = int(_run(connection, _DEFAULT)[0])
        with _lock:
            _defaults[raw] = found
    return found


def _cap(connection: BaseDatabaseWrapper, found: Deadline) -> bool:
    """Limit the next query to the time ``found`` leaves; whether the deadline (not the connection's own timeout) is the limit."""
    left = found.remaining_ms()
    if left <= 0:
        raise DeadlineExceeded(found.budget, "database")
    default = _default_ms(connection)
    if 0 < default <= left:
        _restore(connection)  # the connection's own timeout is the tighter one
        return False
    _run(connection, f"SET statement_timeout = {int(left)}")
    with _lock:
        _changed.add(connection.connection)
    return True


def _restore(connection: BaseDatabaseWrapper) -> None:
    with _lock:
        if connection.connection not in _changed:
            return
        _changed.discard(connection.connection)
    _run(connection, _RESET)


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
