"""Guessing the metrics token is throttled per client address, on metrics and the full health report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from django_stability.views._auth import TOKEN_FAILURES
from tests.hostile.servers import example_project, request
from tests.http_modes import MODES
from tests.ratelimit.support import fetch, unique_ip

TOKEN = "hostile-metrics-token-0123456789"


def _with(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "wrong"),
    [("/stability/metrics", 401), ("/stability/health/", 403)],
)
def test_wrong_tokens_from_one_address_are_refused_with_429(
    tmp_path: Path, path: str, wrong: int
) -> None:
    """After the allowed failures an address gets 429 + Retry-After, even for the right token."""
    with example_project(
        tmp_path, host="::", METRICS_TOKEN=TOKEN, RATELIMIT="off"
    ) as server:
        url = server.url(path, via="127.0.0.1")
        guesses = [
            request(url, _with(f"guess-{n}")).status
            for n in range(TOKEN_FAILURES.count)
        ]
        assert guesses == [wrong] * TOKEN_FAILURES.count

        refused = request(url, _with("one-more-guess"))
        assert refused.status == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.body["code"] == "token_throttled"
        assert 1 <= int(refused.headers["retry-after"]) <= TOKEN_FAILURES.seconds
        # No oracle: the right token from the guessing address is refused alike.
        assert request(url, _with(TOKEN)).status == 429

        # Another client (::1 here) is not locked out by the guesser: its token is
        # accepted (the full report may be 503: this project has no migrations run).
        other = request(server.url(path, via="::1"), _with(TOKEN))
        assert other.status in (200, 503)
        assert "code" not in other.body


@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
async def test_in_process_guessing_is_throttled_and_probes_hide_detail(
    mode: str,
) -> None:
    """In both server modes: wrong tokens end in 429, and a throttled token shows no probe detail."""
    address = unique_ip()  # a counter of its own
    with override_settings(STABILITY_METRICS_TOKEN=TOKEN):
        codes = [
            (
                await fetch(
                    mode, "/stability/metrics", ip=address, headers=_with(f"guess-{n}")
                )
            ).status_code
            for n in range(TOKEN_FAILURES.count + 1)
        ]
        ready = await fetch(
            mode, "/stability/health/ready", ip=address, headers=_with(TOKEN)
        )
    assert codes == [401] * TOKEN_FAILURES.count + [429]
    for result in ready.json()["checks"].values():
        assert set(result) == {"status"}
