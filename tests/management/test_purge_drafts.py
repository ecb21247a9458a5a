"""manage.py purge_drafts: batched deletes of expired drafts, safe while users save."""

from __future__ import annotations

import io
import re
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from django_stability.drafts import save_draft
from django_stability.drafts._purge import _orm_batch, _PgBatches, _run, purge_expired
from django_stability.models import Draft
from tests.drafts.conftest import ago, stored

WAIT = 20  # seconds: the bound of every wait in this module


@pytest.fixture
def owner(django_user_model):
    """The user whose drafts are purged."""
    return django_user_model.objects.create_user("dora", password="not-used")


def _drafts(owner: Any, expired: int, live: int) -> None:
    for i in range(expired):
        save_draft(owner, f"old-{i}", i, now=ago(days=8))
    for i in range(live):
        save_draft(owner, f"new-{i}", i)


def _purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_drafts", *args, stdout=out)
    return out.getvalue()


def _purged_total() -> float:
    return REGISTRY.get_sample_value("stability_drafts_purged_total") or 0.0


@pytest.mark.django_db
def test_deletes_the_expired_drafts_and_keeps_the_live_ones(owner):
    """The expired drafts go, the live ones stay, and a summary line says how many in how many batches."""
    _drafts(owner, expired=5, live=3)
    before = _purged_total()
    out = _purge("--batch-size", "2")
    assert out.strip().splitlines() == ["Deleted 5 expired drafts in 3 batches."]
    assert sorted(Draft.all_objects.values_list("key", flat=True)) == [
        "new-0",
        "new-1",
        "new-2",
    ]
    assert _purged_total() - before == 5


@pytest.mark.django_db
def test_verbosity_2_reports_each_batch(owner):
    """At verbosity 2 each batch prints its count and the running total."""
    _drafts(owner, expired=3, live=0)
    out = _purge("--batch-size", "2", "--verbosity", "2")
    assert out.splitlines() == [
        "Deleted 2 drafts (2 so far).",
        "Deleted 1 drafts (3 so far).",
        "Deleted 3 expired drafts in 2 batches.",
    ]


@pytest.mark.django_db
def test_dry_run_counts_and_deletes_nothing(owner):
    """--dry-run says how many would go and leaves every row."""
    _drafts(owner, expired=4, live=1)
    assert (
        _purge("--dry-run").strip()
        == "4 expired drafts would be deleted (dry run: none was)."
    )
    assert Draft.all_objects.count() == 5


@pytest.mark.django_db
def test_nothing_to_delete(owner):
    """With no expired drafts the command says it deleted 0 and keeps the live ones."""
    _drafts(owner, expired=0, live=2)
    assert _purge().strip() == "Deleted 0 expired drafts in 0 batches."
    assert Draft.all_objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("size", ["0", "-5"])
def test_bad_batch_size_is_a_usage_error(size):
    """A batch size below 1 fails with exit status 2 and a message naming the option."""
    with pytest.raises(CommandError, match="--batch-size must be at least 1") as caught:
        _purge("--batch-size", size)
    assert caught.value.returncode == 2


@pytest.mark.django_db
def test_database_failure_is_a_clear_error_with_exit_status_1(owner):
    """When the database fails (here: the table is gone) the command exits 1 saying what failed."""
    _drafts(owner, expired=1, live=0)
    table = connection.ops.quote_name(Draft._meta.db_table)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"ALTER TABLE {table} RENAME TO stability_draft_moved")
    with pytest.raises(
        CommandError, match="purge_drafts failed after deleting 0 expired drafts"
    ) as caught:
        _purge()
    assert caught.value.returncode == 1


def test_batch_size_below_1_is_refused_by_the_library():
    """purge_expired refuses a batch size below 1."""
    with pytest.raises(ValueError, match="at least 1"):
        purge_expired(batch_size=0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(_PgBatches, marks=pytest.mark.postgres),
        lambda using, now: _orm_batch,
    ],
    ids=["postgresql", "other"],
)
def test_both_strategies_delete_exactly_the_expired_drafts(owner, strategy):
    """The PostgreSQL ranges and the portable select-then-delete purge the same drafts."""
    _drafts(owner, expired=7, live=2)
    now = timezone.now()
    result = _run(strategy("default", now), 3, now, "default", None)
    assert result.deleted == 7
    assert sorted(Draft.all_objects.values_list("key", flat=True)) == ["new-0", "new-1"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_sparse_expired_drafts_are_found_without_oversized_batches(owner):
    """Expired drafts scattered among live ones: every one goes, no batch deletes more than its size."""
    for i in range(40):
        save_draft(owner, f"d-{i}", i, now=ago(days=8) if i % 7 == 0 else None)
    batches: list[int] = []
    result = purge_expired(
        batch_size=3, progress=lambda count, total: batches.append(count)
    )
    assert result.deleted == 6  # 0, 7, 14, 21, 28, 35
    assert max(batches) <= 3
    assert Draft.all_objects.count() == 34
    assert Draft.all_objects.expired().count() == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_dense_then_sparse_then_dense(owner):
    """A table whose expired drafts come in runs and gaps is purged exactly, batch by batch."""
    for i in range(60):
        expired = i < 20 or i >= 45
        save_draft(owner, f"d-{i}", i, now=ago(days=8) if expired else None)
    batches: list[int] = []
    result = purge_expired(
        batch_size=4, progress=lambda count, total: batches.append(count)
    )
    assert result.deleted == 35
    assert max(batches) <= 4
    assert sorted(Draft.all_objects.values_list("data", flat=True)) == list(
        range(20, 45)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_draft_renewed_during_the_purge_is_kept(owner):
    """A draft that expired but is saved again while the purge runs is not deleted."""
    _drafts(owner, expired=6, live=0)

    def renew_the_last_after_the_first_batch(count: int, total: int) -> None:
        if total == count:
            save_draft(owner, "old-5", "saved again")

    result = purge_expired(batch_size=2, progress=renew_the_last_after_the_first_batch)
    assert result.deleted == 5
    assert stored(owner, "old-5").data == "saved again"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_draft_being_saved_makes_the_purge_wait_and_survives(owner):
    """An expired draft locked by a save in progress is kept: the purge waits, then sees it renewed."""
    _drafts(owner, expired=4, live=0)
    locked, commit = threading.Event(), threading.Event()

    def slow_save() -> None:
        try:
            with transaction.atomic():  # the row stays locked until ``commit`` is set
                save_draft(owner, "old-2", "saved meanwhile")
                locked.set()
                assert commit.wait(WAIT)
        finally:
            connections.close_all()

    def purge() -> int:
        try:
            return purge_expired(batch_size=10).deleted
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        saver = pool.submit(slow_save)
        assert locked.wait(WAIT)
        purged = pool.submit(purge)
        deadline = time.monotonic() + WAIT
        while not _blocked_on_a_lock():  # the purge's DELETE waits for the saved row
            assert time.monotonic() < deadline, "the purge never waited on the row lock"
            threading.Event().wait(0.01)
        commit.set()
        saver.result(WAIT)
        assert purged.result(WAIT) == 3
    assert stored(owner, "old-2").data == "saved meanwhile"


def _blocked_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_million_expired_among_100k_live(owner):
    """1,000,000 expired drafts interleaved with 100,000 live ones: exactly the expired go, memory stays flat."""
    table = connection.ops.quote_name(Draft._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (owner_id, key, data, version, size, created_at, updated_at, expires_at) "
            "SELECT %(owner)s, 'k' || g, '1'::jsonb, 1, 1, %(created)s, %(created)s, "
            "CASE WHEN g %% 11 = 0 THEN %(live)s ELSE %(expired)s END "
            "FROM generate_series(1, 1100000) AS g",
            {
                "owner": owner.pk,
                "created": now - timedelta(days=8),
                "live": now + timedelta(days=1),
                "expired": now - timedelta(days=1),
            },
        )
        cursor.execute(f"ANALYZE {table}")
    tracemalloc.start()
    try:
        out = _purge("--batch-size", "20000", "--verbosity", "2")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    *progress, summary = out.strip().splitlines()
    assert re.fullmatch(r"Deleted 1000000 expired drafts in \d+ batches\.", summary)
    per_batch = [int(line.split()[1]) for line in progress]
    assert sum(per_batch) == 1_000_000
    assert max(per_batch) <= 20_000
    assert Draft.all_objects.count() == 100_000
    assert Draft.all_objects.expired(now).count() == 0
    assert peak < 5 * 1024 * 1024  # bytes: batches never reach Python
