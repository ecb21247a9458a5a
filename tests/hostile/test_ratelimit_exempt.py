"""STABILITY_RATELIMIT_EXEMPT matches whole path segments, so a look-alike path is still limited."""

from __future__ import annotations

from pathlib import Path

import pytest

from django_stability.ratelimit._settings import Exempt
from tests.hostile.servers import example_project, request


def test_a_look_alike_of_an_exempt_path_is_rate_limited(tmp_path: Path) -> None:
    """``/stability/metricsX`` is counted and refused; ``/stability/metrics`` stays exempt."""
    with example_project(tmp_path, RATELIMIT="2/m") as server:
        codes = [
            request(server.url("/stability/metricsANYTHING")).status for _ in range(3)
        ]
        assert codes == [404, 404, 429]
        metrics = request(server.url("/stability/metrics"))
        assert metrics.status == 200
        assert "ratelimit-limit" not in metrics.headers


@pytest.mark.parametrize(
    ("path", "exempt"),
    [
        ("/stability/metrics", True),
        ("/stability/metrics/", True),
        ("/stability/metrics/x", True),
        ("/stability/metricsX", False),
        ("/stability/metrics.txt", False),
        ("/stability/health/ready", True),
        ("/stability/health", False),
        ("/stability/healthz", False),
        ("/static/app.css", True),
        ("/staticfiles", False),
    ],
)
def test_exempt_entries_match_on_segment_boundaries(path: str, exempt: bool) -> None:
    """An entry without a trailing slash is that path and what is under it, never a longer name."""
    matcher = Exempt(("/stability/health/", "/stability/metrics", "/static/"))
    assert matcher(path) is exempt
