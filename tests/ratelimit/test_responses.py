"""The RateLimit-* headers: set once per response, by the innermost limit that counted it."""

from __future__ import annotations

import pytest

from tests.http_modes import MODES
from tests.ratelimit.support import fetch


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("view", ["sync", "async"])
async def test_a_view_limit_inside_the_global_one_names_its_own_headers(
    mode, view, limits, ip
):
    """Middleware at 5/m around a view at 3/m: the headers describe the view's tighter limit."""
    responses = [await fetch(mode, f"/{view}/ip", ip=ip) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert {r["RateLimit-Limit"] for r in responses} == {"3"}
    assert [r["RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_global_limit_alone_names_its_headers(mode, limits, ip):
    """An undecorated view under the middleware carries the global limit's headers."""
    response = await fetch(mode, "/api/ok", ip=ip)
    assert response["RateLimit-Limit"] == "5"
    assert response["RateLimit-Remaining"] == "4"
