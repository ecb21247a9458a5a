"""Deleting expired drafts in batches, safely while users keep saving.

Each batch is its own short transaction and walks the primary key upwards
from where the last one stopped, so no batch rescans rows already handled
and memory stays flat whatever the table size. On PostgreSQL one statement
picks the batch with ``FOR UPDATE SKIP LOCKED`` (a draft being saved right
now is skipped, not waited for) and deletes it; every delete re-checks
``expires_at``, so a draft renewed after the purge started is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from django_stability import metrics
from django_stability.models import Draft

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PurgeResult",
    "count_expired",
    "purge_expired",
    "purge_queryset",
]

DEFAULT_BATCH_SIZE = 5000

# The batch: expired drafts past the cursor, locked (skipping those being saved), then
# deleted if still expired. Answers how many went and where the next batch starts.
_PG_BATCH = """
WITH batch AS (
    SELECT id FROM {table}
    WHERE id > %(after)s AND expires_at <= %(now)s
    ORDER BY id LIMIT %(size)s
    FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM {table}
    WHERE id IN (SELECT id FROM batch) AND expires_at <= %(now)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT max(id) FROM batch)
"""


@dataclass(frozen=True)
class PurgeResult:
    """What :func:`purge_expired` did: drafts deleted and batches run.

    .. versionadded:: 0.1
    """

    deleted: int
    batches: int


def count_expired(*, now: datetime | None = None, using: str = "default") -> int:
    """How many drafts have expired at ``now`` (what a purge would delete).

    .. versionadded:: 0.1
    """
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

    .. versionadded:: 0.1
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    step = _pg_batch if connections[using].vendor == "postgresql" else _orm_batch
    return _run(step, batch_size, now or timezone.now(), using, progress)


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
        after, deleted, batches = last, deleted + count, batches + 1
        metrics.drafts_purged.inc(count)
        if progress is not None:
            progress(count, deleted)


def _pg_batch(
    using: str, after: int, now: datetime, size: int
) -> tuple[int, int | None]:
    connection = connections[using]
    sql = _PG_BATCH.format(table=connection.ops.quote_name(Draft._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, {"after": after, "now": now, "size": size})
        count, last = cursor.fetchone()
    return count, last


def purge_queryset(
    drafts: QuerySet[Draft],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> PurgeResult:
    """Delete the drafts of ``drafts`` that have expired at ``now``, in batches (the admin's action).

    .. versionadded:: 0.1
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")

    def step(
        using: str, after: int, now: datetime, size: int
    ) -> tuple[int, int | None]:
        return _orm_batch(using, after, now, size, drafts)

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
