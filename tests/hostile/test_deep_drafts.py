"""Drafts nested ~970 deep used to crash psycopg's JSON dumper (a 500); every depth past the limit is a 400."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from django_stability.drafts import MAX_DRAFT_DEPTH, get_draft, save_draft
from tests.hostile.servers import example_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CSRF = "k" * 32


def _session_of(user: User) -> str:
    """A logged-in session stored in the shared database, as the admin login would leave it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def _put(url: str, session: str, body: bytes) -> tuple[int, str, Any]:
    req = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        headers={
            "Content-Type": "application/json",
            "Cookie": f"sessionid={session}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.parametrize("depth", [970, 100_000])
def test_deeply_nested_drafts_are_a_400_and_change_nothing(
    tmp_path: Path, depth: int
) -> None:
    """A PUT of JSON nested 970 or 100,000 deep gets 400 problem+json; the stored draft is untouched."""
    alice = User.objects.create_user("alice", password="x")
    save_draft(alice, "note", {"title": "kept"})
    db = connection.settings_dict
    database = (
        f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}"
        f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'])}"
    )
    with example_project(
        tmp_path, DATABASE_URL=database, SECRET_KEY=settings.SECRET_KEY
    ) as server:
        url = server.url("/stability/drafts/note")
        session = _session_of(alice)
        body = b'{"data": ' + b"[" * depth + b"]" * depth + b"}"
        status, kind, raw = _put(url, session, body)
        assert (status, kind) == (400, "application/problem+json"), raw[:2000]
        assert b'"invalid_json"' in raw
        kept = get_draft(alice, "note")
        assert kept is not None
        assert (kept.data, kept.version) == ({"title": "kept"}, 1)
        # The limit is where it says: exactly that deep is stored.
        at_limit = b"[" * MAX_DRAFT_DEPTH + b"]" * MAX_DRAFT_DEPTH
        status, _, raw = _put(url, session, b'{"data": ' + at_limit + b"}")
        assert status == 200, raw[:2000]
