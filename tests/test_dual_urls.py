"""Probe URLs resolve to a sync view under WSGI and to its async twin under ASGI."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from django_stability.views import health

PROBES = [
    ("stability:health-live", health.live, health.alive),
    ("stability:health-ready", health.ready, health.aready),
    ("stability:health-startup", health.startup, health.astartup),
]


@pytest.mark.parametrize(("name", "sync_view", "async_view"), PROBES)
def test_outside_an_event_loop_the_sync_view_answers(name, sync_view, async_view):
    """A WSGI thread (no running loop) gets the sync view: no event loop per probe."""
    match = resolve(reverse(name))
    assert match.func is sync_view
    assert match.url_name == name.split(":")[1]


@pytest.mark.parametrize(("name", "sync_view", "async_view"), PROBES)
async def test_inside_an_event_loop_the_async_view_answers(name, sync_view, async_view):
    """ASGI's handler (a running loop) gets the async twin: no thread hand-off per probe."""
    match = resolve(reverse(name))
    assert match.func is async_view
    assert match.url_name == name.split(":")[1]
    assert "stability" in match.app_names


def test_the_full_report_stays_sync_everywhere():
    """The full report reads the session user, so it has no async twin."""
    assert resolve(reverse("stability:health")).func is health.full
