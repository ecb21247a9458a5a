"""Who a client is, as the rate limit sees it: dual-stack listeners and forged X-Forwarded-For."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.servers import example_project, request


def test_one_ipv4_client_does_not_throttle_every_ipv4_or_ipv6_user(
    tmp_path: Path,
) -> None:
    """On a dual-stack listener (``--host ::``) each client has its own limit, IPv4 ones included."""
    with example_project(tmp_path, host="::", RATELIMIT="3/m") as server:
        hammer = [
            request(server.url("/stability/version", via="127.0.0.1")).status
            for _ in range(4)
        ]
        assert hammer == [200, 200, 200, 429]
        other = request(server.url("/stability/version", via="::1"))
        assert other.status == 200
        assert other.headers["ratelimit-remaining"] == "2"


def test_a_forged_forwarded_for_entry_does_not_choose_the_client(
    tmp_path: Path,
) -> None:
    """Behind a trusted proxy, garbage in X-Forwarded-For stops the reading: the proxy's view stands."""
    with example_project(
        tmp_path, RATELIMIT="2/m", TRUSTED_PROXIES="127.0.0.1/32"
    ) as server:
        # The "client" rotates the address left of a garbage entry it also wrote.
        codes = [
            request(
                server.url("/stability/version"),
                {"X-Forwarded-For": f"203.0.113.{n}, not-an-address"},
            ).status
            for n in range(3)
        ]
        assert codes == [200, 200, 429]
