"""Database reads retried on connection errors, never inside a transaction."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from django_stability.breakers import CircuitBreaker
from django_stability.breakers.integrations import is_connection_error
from django_stability.retry._core import IN_TRANSACTION
from django_stability.retry._retry import Retry
from django_stability.state import Engine


class ReadRetry(Retry):
    """Retries of database reads: on connection errors only, and only outside transactions.

    Get one with :func:`retry_reads`. Before a retry the broken connection of
    ``using`` is closed, so the next attempt connects afresh. Inside an atomic
    block (or with ``AUTOCOMMIT`` off) nothing is retried: the transaction may
    have written, and a new connection would not carry it.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        name: str = "database",
        *,
        using: str = DEFAULT_DB_ALIAS,
        breaker: str | CircuitBreaker | None = None,
        clock: Callable[[], float] = time.time,
        engine: Engine | None = None,
    ) -> None:
        super().__init__(
            name, on=is_connection_error, breaker=breaker, clock=clock, engine=engine
        )
        self.using = using

    def _vet(self, exc: Exception) -> str | None:
        connection = connections[self.using]
        if connection.in_atomic_block or not connection.settings_dict["AUTOCOMMIT"]:
            return IN_TRANSACTION
        # A close that fails finds it broken already: the next attempt reconnects.
        with contextlib.suppress(DatabaseError):
            connection.close()
        return None

    async def _avet(self, exc: Exception) -> str | None:
        # In the thread the async ORM runs its queries in: the same connection object.
        return await sync_to_async(self._vet)(exc)


def retry_reads(
    name: str = "database",
    *,
    using: str = DEFAULT_DB_ALIAS,
    breaker: str | CircuitBreaker | None = None,
) -> ReadRetry:
    """Retries of idempotent database reads on ``using``, for ``@retry_reads()`` or ``for attempt in``.

    The options come from ``STABILITY_RETRIES[name]``, except ``on``: only
    connection errors are retried (as
    :func:`~django_stability.breakers.integrations.is_connection_error` tells
    them), never a query's own error. Evaluate querysets inside the retried
    function (``list(...)``, ``.count()``): a lazy queryset returned unevaluated
    runs after the retries are over.

    .. versionadded:: 0.1
    """
    return ReadRetry(name, using=using, breaker=breaker)
