"""The URLconf: every path of the documented HTTP surface resolves to its view, and only those."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve, reverse

from django_stability import views
from django_stability.views import breakers

#: The HTTP surface of docs/http-api.rst, mounted at ``stability/`` as the docs say.
DOCUMENTED = [
    ("/stability/health/live", "stability:health-live", {}),
    ("/stability/health/ready", "stability:health-ready", {}),
    ("/stability/health/startup", "stability:health-startup", {}),
    ("/stability/health/", "stability:health", {}),
    ("/stability/version", "stability:version", {}),
    ("/stability/keepalive", "stability:keepalive", {}),
    ("/stability/drafts/", "stability:drafts", {}),
    ("/stability/drafts/note", "stability:draft", {"key": "note"}),
    ("/stability/breakers/", "stability:breakers", {}),
    ("/stability/breakers/database", "stability:breaker", {"name": "database"}),
    (
        "/stability/breakers/database/open",
        "stability:breaker-action",
        {"name": "database", "action": "open"},
    ),
    ("/stability/metrics", "stability:metrics", {}),
]


@pytest.mark.parametrize(("path", "name", "kwargs"), DOCUMENTED, ids=lambda v: str(v))
def test_each_documented_path_resolves_and_reverses(path, name, kwargs):
    match = resolve(path)
    assert (f"{match.namespace}:{match.url_name}", match.kwargs) == (name, kwargs)
    assert reverse(name, kwargs=kwargs) == path


@pytest.mark.parametrize("action", ["open", "close", "reset", "release"])
def test_each_operator_action_reaches_the_action_view(action):
    assert resolve(f"/stability/breakers/b/{action}").func is breakers.breaker_action


def test_a_draft_key_with_slashes_reaches_the_view_that_refuses_it():
    """A bad key is the drafts view's to answer with its 400 problem, not a bare 404."""
    assert resolve("/stability/drafts/a/b\nc").func is views.draft


@pytest.mark.parametrize(
    "path", ["/stability/breakers/b/explode", "/stability/nothing", "/stability/health"]
)
def test_anything_else_is_not_ours(path):
    with pytest.raises(Resolver404):
        resolve(path)
