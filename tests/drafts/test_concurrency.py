"""Concurrent saves of one draft on real PostgreSQL: exactly one wins, the others get a conflict."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from django_stability.drafts import DraftConflict, DraftLimitReached, save_draft
from django_stability.models import Draft
from tests.drafts.conftest import stored

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WAIT = 20  # seconds: the bound of every wait in this module


def _blocked_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


def test_a_save_blocked_behind_the_winner_gets_the_winners_draft(alice):
    """A save from version 1 that waits on the row lock of a concurrent save from version 1 ends in a conflict."""
    save_draft(alice, "note", "v1")
    first_saved, commit = threading.Event(), threading.Event()

    def winner() -> str:
        try:
            with transaction.atomic():  # holds the row lock until ``commit`` is set
                save_draft(alice, "note", "winner", version=1)
                first_saved.set()
                assert commit.wait(WAIT)
            return "saved"
        finally:
            connections.close_all()

    def loser() -> Draft:
        try:
            assert first_saved.wait(WAIT)
            return save_draft(alice, "note", "loser", version=1)
        except DraftConflict as conflict:
            return conflict.current
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        won, lost = pool.submit(winner), pool.submit(loser)
        deadline = time.monotonic() + WAIT
        while not _blocked_on_a_lock():  # the loser's UPDATE waits for the winner's row
            assert time.monotonic() < deadline, (
                "the second save never waited on the row lock"
            )
            threading.Event().wait(0.01)
        commit.set()
        assert won.result(WAIT) == "saved"
        current = lost.result(WAIT)
    assert (current.version, current.data) == (2, "winner")
    assert (stored(alice, "note").version, stored(alice, "note").data) == (2, "winner")


def _race(user: Any, key: str, version: int) -> list[tuple[int, dict[str, Any]]]:
    """Eight logged-in clients PUT ``key`` from ``version`` at once over HTTP; their statuses and bodies."""
    clients = []
    for _ in range(8):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients.append(client)
    start = threading.Barrier(len(clients))

    def put(i: int) -> tuple[int, dict[str, Any]]:
        try:
            start.wait(WAIT)
            response = clients[i].put(
                f"/stability/drafts/{key}",
                f'{{"data": "tab {i}", "version": {version}}}',
                content_type="application/json",
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(put, range(len(clients)), timeout=WAIT))


@pytest.mark.parametrize(
    ("key", "version"),
    [("note", 1), ("fresh", 0)],
    ids=["from-version-1", "create-with-version-0"],
)
def test_concurrent_puts_from_one_version_have_one_winner(alice, key, version):
    """Eight PUTs from one version (1 of a stored draft, 0 of a new key) released at once: one 200, seven 409 carrying the winner's draft."""
    if version:
        save_draft(alice, key, "v1")
    results = _race(alice, key, version)
    assert sorted(status for status, _ in results) == [200] + [409] * 7
    [winner] = [body for status, body in results if status == 200]
    assert winner["version"] == version + 1
    for status, body in results:
        if status == 409:
            assert body["code"] == "draft_conflict"
            assert body["draft"] == winner
    saved = stored(alice, key)
    assert (saved.version, saved.data) == (version + 1, winner["data"])


def test_concurrent_first_saves_of_a_new_key_create_it_once(alice):
    """Eight threads creating one new key at once store one draft; unversioned saves all succeed in turn."""
    start = threading.Barrier(8)

    def create(i: int) -> int:
        try:
            start.wait(WAIT)
            return save_draft(alice, "fresh", f"tab {i}").version
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        versions = sorted(pool.map(create, range(8), timeout=WAIT))
    assert versions == list(range(1, 9))
    assert stored(alice, "fresh").version == 8


def test_the_per_user_limit_holds_under_concurrent_new_keys(alice, settings):
    """Eight new keys saved at once with STABILITY_DRAFTS_PER_USER = 3: three are stored, five refused."""
    settings.STABILITY_DRAFTS_PER_USER = 3
    start = threading.Barrier(8)

    def create(i: int) -> str:
        try:
            start.wait(WAIT)
            save_draft(alice, f"key-{i}", i)
            return "saved"
        except DraftLimitReached:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(create, range(8), timeout=WAIT))
    assert outcomes == ["refused"] * 5 + ["saved"] * 3
    assert Draft.objects.filter(owner=alice).count() == 3
