"""Users, logged-in test clients (WSGI or ASGI) and a clock for the drafts tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient, Client
from django.utils import timezone

from django_stability.drafts import get_draft
from django_stability.models import Draft

# A CSRF secret set as the cookie and sent back in X-CSRFToken, as stability.js does.
CSRF_SECRET = "k" * 32


class Api:
    """One user's session against the drafts API, through the WSGI or the ASGI handler."""

    def __init__(self, mode: str, user: Any = None, *, csrf: bool = False) -> None:
        self.mode = mode
        self.csrf = csrf
        klass = AsyncClient if mode == "asgi" else Client
        self.client = klass(raise_request_exception=False, enforce_csrf_checks=csrf)
        self._login = user  # logged in on the first request, from a worker thread
        if csrf:
            self.client.cookies["csrftoken"] = CSRF_SECRET

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        form: dict[str, Any] | None = None,
        token: bool = True,
    ) -> Any:
        if self._login is not None:
            await sync_to_async(self.client.force_login)(self._login)
            self._login = None
        kwargs: dict[str, Any] = {}
        if body is not None or raw is not None:
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = "application/json"
        if form is not None:
            kwargs["data"] = form
        if self.csrf and token:
            kwargs["headers"] = {"X-CSRFToken": CSRF_SECRET}
        call = getattr(self.client, method)
        if self.mode == "asgi":
            return await call(path, **kwargs)
        return await sync_to_async(call)(path, **kwargs)


@pytest.fixture(autouse=True)
async def _close_worker_connections():
    """Close the connection the sync_to_async worker thread opened, so the test database can be dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def alice(transactional_db, django_user_model):
    """A user with drafts of her own."""
    return django_user_model.objects.create_user("alice", password="not-used")


@pytest.fixture
def bob(transactional_db, django_user_model):
    """Another user, who must never see or change alice's drafts."""
    return django_user_model.objects.create_user("bob", password="not-used")


@pytest.fixture
def api() -> Callable[..., Api]:
    """``api(mode, user, csrf=False)``: a session for ``user`` (None: anonymous)."""
    return Api


def ago(**delta: float) -> datetime:
    """A moment in the past, for saving drafts that have expired by now."""
    return timezone.now() - timedelta(**delta)


def stored(owner: Any, key: str) -> Draft:
    """``owner``'s live draft ``key``, which the test expects to exist."""
    draft = get_draft(owner, key)
    assert draft is not None, f"no live draft {key!r}"
    return draft
