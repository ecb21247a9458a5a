"""A database that cannot be reached: told apart from a query's own errors, answered 503."""

from __future__ import annotations

import logging
from typing import Final

from django.db import InterfaceError, OperationalError

# SQLSTATE prefixes of a failing server or link, not of a failing query:
# connection exception (08), insufficient resources such as too many
# connections (53), and shutdowns or "cannot connect now" (57P). The query's
# own errors (57014 query_canceled by statement_timeout, 55P03 lock timeout,
# 40P01 deadlock) are OperationalErrors too, but prove the server answered.
_CONNECTION_SQLSTATES = ("08", "53", "57P")

#: The ``code`` of the 503 problem answered for a database connection failure.
DATABASE_UNAVAILABLE: Final = "database_unavailable"

#: Its ``Retry-After``, in seconds.
DATABASE_RETRY_AFTER: Final = 5

DATABASE_DETAIL: Final = "The database is unreachable right now; retry later."


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or dropped the connection.

    ``OperationalError`` and ``InterfaceError`` count unless the driver gives
    a SQLSTATE outside the classes of connection errors: the query's own
    failures (``IntegrityError``, ``ProgrammingError``, ``DataError``, a
    ``statement_timeout``) never do. psycopg_pool's ``PoolTimeout`` (no
    connection free, or none could be made, within ``DB_POOL_TIMEOUT``) counts.

    .. versionadded:: 0.1
    """
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return not isinstance(sqlstate, str) or sqlstate.startswith(_CONNECTION_SQLSTATES)


_log = logging.getLogger("django_stability.errors")


def log_unavailable(exc: BaseException) -> None:
    """One line naming the driver's error (no traceback), for a connection failure answered 503."""
    kind = type(exc.__cause__ or exc)
    _log.warning(
        "database unavailable: %s.%s: %s", kind.__module__, kind.__qualname__, exc
    )
