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


def test_many_concurrent_puts_from_one_version_have_one_winner(alice):
    """Eight PUTs from version 1 released at once over HTTP: one 200, seven 409 carrying the winner's draft."""
    save_draft(alice, "note", "v1")
    clients = []
    for _ in range(8):
        client = Client(raise_request_exception=False)
        client.force_login(alice)
        clients.append(client)
    start = threading.Barrier(len(clients))

    def put(i: int) -> tuple[int, dict[str, Any]]:
        try:
            start.wait(WAIT)
            response = clients[i].put(
                "/stability/drafts/note",
                f'{{"data": "tab {i}", "version": 1}}',
                content_type="application/json",
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(put, range(len(clients)), timeout=WAIT))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 7
    [winner] = [body for status, body in results if status == 200]
    assert winner["version"] == 2
    for status, body in results:
        if status == 409:
            assert body["code"] == "draft_conflict"
            assert body["draft"] == winner
    assert stored(alice, "note").data == winner["data"]


def test_concurrent_creates_with_version_0_have_one_winner(alice):
    """Eight PUTs with version 0 of a new key released at once over HTTP: one creates it, seven get 409 with it."""
    clients = []
    for _ in range(8):
        client = Client(raise_request_exception=False)
        client.force_login(alice)
        clients.append(client)
    start = threading.Barrier(len(clients))

    def put(i: int) -> tuple[int, dict[str, Any]]:
        try:
            start.wait(WAIT)
            response = clients[i].put(
                "/stability/drafts/fresh",
                f'{{"data": "tab {i}", "version": 0}}',
                content_type="application/json",
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(put, range(len(clients)), timeout=WAIT))
    assert sorted(status for status, _ in results) == [200] + [409] * 7
    [winner] = [body for status, body in results if status == 200]
    assert winner["version"] == 1
    assert all(body["draft"] == winner for status, body in results if status == 409)
    assert (stored(alice, "fresh").version, stored(alice, "fresh").data) == (
        1,
        winner["data"],
    )


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
