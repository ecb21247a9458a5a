"""Deleting expired drafts in batches, safely while users keep saving (``manage.py purge_drafts``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from django_stability import metrics
from django_stability.models import Draft

DEFAULT_BATCH_SIZE = 5000

# Dense: the next ``size`` ids, whatever they hold.
_PG_SPAN = """
DELETE FROM {table}
WHERE id > %(after)s AND id <= %(upper)s AND expires_at <= %(now)s
"""
# Sparse: up to the ``size``-th expired draft. Answers how many went and where it ended.
_PG_NEXT = """
WITH bounds AS (
    SELECT max(id) AS upper FROM (
        SELECT id FROM {table}
        WHERE id > %(after)s AND id <= %(top)s AND expires_at <= %(now)s
        ORDER BY id LIMIT %(size)s
    ) AS batch
), gone AS (
    DELETE FROM {table} USING bounds
    WHERE {table}.id > %(after)s AND {table}.id <= bounds.upper
    AND {table}.expires_at <= %(now)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT upper FROM bounds)
"""


@dataclass(frozen=True)
class PurgeResult:
    """What :func:`purge_expired` did: drafts deleted, and in how many batches (transactions that deleted some)."""

    deleted: int
    batches: int


def count_expired(*, now: datetime | None = None, using: str = "default") -> int:
    """How many drafts have expired at ``now`` (what a purge would delete)."""
    return Draft.all_objects.using(using).expired(now).count()


def purge_expired(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    using: str = "default",
    progress: Callable[[int, int], None] | None = None,
) -> PurgeResult:
    """Delete the drafts expired at ``now``, ``batch_size`` per transaction.

    Args:
        batch_size: Drafts deleted per transaction, at least 1.
        now: The expiry cut-off, fixed for the whole run (drafts that expire
            during it are left to the next run); defaults to the current time.
        using: The database alias.
        progress: Called after each batch with the batch's and the running total.

    Returns:
        How many drafts were deleted, in how many batches.

    Raises:
        ValueError: ``batch_size`` is below 1.
        django.db.DatabaseError: The database failed; the batches before stay deleted.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    now = now or timezone.now()
    postgresql = connections[using].vendor == "postgresql"
    step = _PgBatches(using, now) if postgresql else _orm_batch
    return _run(step, batch_size, now, using, progress)


_Step = Callable[[str, int, datetime, int], tuple[int, int | None]]


def _run(
    step: _Step,
    batch_size: int,
    now: datetime,
    using: str,
    progress: Callable[[int, int], None] | None,
) -> PurgeResult:
    after, deleted, batches = 0, 0, 0
    while True:
        with transaction.atomic(using=using):
            count, last = step(using, after, now, batch_size)
        if last is None:
            return PurgeResult(deleted, batches)
        after = last
        if not count:
            continue  # a range with nothing expired in it (PostgreSQL)
        deleted, batches = deleted + count, batches + 1
        metrics.drafts_purged.inc(count)
        if progress is not None:
            progress(count, deleted)


class _PgBatches:
    """The PostgreSQL batches of one purge, switching between dense and sparse ranges."""

    def __init__(self, using: str, now: datetime) -> None:
        connection = connections[using]
        table = connection.ops.quote_name(Draft._meta.db_table)
        self.span_sql = _PG_SPAN.format(table=table)
        self.next_sql = _PG_NEXT.format(table=table)
        with connection.cursor() as cursor:
            # From just below the first expired draft to the last draft there is now:
            # drafts created after the purge started (higher ids) are live.
            cursor.execute(
                f"SELECT (SELECT min(id) - 1 FROM {table} WHERE expires_at <= %s), "
                f"(SELECT max(id) FROM {table})",
                [now],
            )
            start, top = cursor.fetchone()
        self.top: int = top or 0
        self.start: int = self.top if start is None else start
        self.dense = True

    def __call__(
        self, using: str, after: int, now: datetime, size: int
    ) -> tuple[int, int | None]:
        after = max(after, self.start)
        with connections[using].cursor() as cursor:
            # A crash may forget the last batches; the next run repeats them.
            cursor.execute("SET LOCAL synchronous_commit = off")
            if self.dense:
                if after >= self.top:
                    return 0, None
                upper = min(after + size, self.top)
                cursor.execute(
                    self.span_sql, {"after": after, "upper": upper, "now": now}
                )
                count = cursor.rowcount
                # Fewer than a quarter expired: cheaper to look for them first.
                self.dense = count * 4 >= upper - after
                return count, upper
            params: dict[str, Any] = {"after": after, "top": self.top, "now": now}
            params["size"] = size
            cursor.execute(self.next_sql, params)
            count, last = cursor.fetchone()
        if last is not None:
            self.dense = last - after <= 2 * size
        return count, last


def purge_queryset(
    drafts: QuerySet[Draft],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> PurgeResult:
    """Delete the drafts of ``drafts`` that have expired at ``now``, in batches (the admin's action)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    step = functools.partial(_orm_batch, drafts=drafts)
    return _run(step, batch_size, now or timezone.now(), drafts.db, None)


def _orm_batch(
    using: str,
    after: int,
    now: datetime,
    size: int,
    drafts: QuerySet[Draft] | None = None,
) -> tuple[int, int | None]:
    # Other databases lock whole tables or rows on write anyway: select, then delete.
    base = Draft.all_objects.all() if drafts is None else drafts
    expired = base.using(using).filter(expires_at__lte=now)
    ids = list(
        expired.filter(id__gt=after).order_by("id").values_list("id", flat=True)[:size]
    )
    if not ids:
        return 0, None
    count, _ = expired.filter(id__in=ids).delete()
    return count, ids[-1]
