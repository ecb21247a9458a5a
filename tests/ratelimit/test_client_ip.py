"""client_ip(): REMOTE_ADDR, or X-Forwarded-For read from the right behind trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from django_stability.ratelimit._client_ip import (
    client_ip,
    parse_address,
    trusted_networks,
)
from tests.checks import check_error_codes

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


def _ip(remote: str | None, forwarded: str | None = None) -> str:
    request = RequestFactory().get("/")
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(request)


def test_remote_addr_without_trusted_proxies() -> None:
    """With no trusted proxy configured, X-Forwarded-For is ignored: a client cannot spoof it."""
    assert _ip("192.0.2.10", "203.0.113.1") == "192.0.2.10"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("::ffff:192.0.2.10", "192.0.2.10"),
        ("::FFFF:c000:20b", "192.0.2.11"),
        ("2001:db8::7", "2001:db8::7"),
        ("::1", "::1"),
        ("192.0.2.12", "192.0.2.12"),
    ],
)
def test_ipv4_mapped_remote_addr_is_ipv4(remote: str, expected: str) -> None:
    """A dual-stack listener's IPv4-mapped peer address is answered as the IPv4 address."""
    assert _ip(remote) == expected


def test_missing_remote_addr() -> None:
    """A server that gives no peer address yields an empty string, not an error."""
    assert _ip(None) == ""
    with override_settings(STABILITY_TRUSTED_PROXIES=PROXIES):
        assert _ip(None, "203.0.113.1") == ""


@override_settings(STABILITY_TRUSTED_PROXIES=PROXIES)
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # The proxy's peer is the client.
        ("10.1.2.3", "203.0.113.7", "203.0.113.7"),
        # Read from the right: the left part was written by the client.
        ("10.1.2.3", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # Trusted hops are skipped.
        ("10.1.2.3", "6.6.6.6, 203.0.113.7, 10.9.9.9, 10.8.8.8", "203.0.113.7"),
        # Reading stops at the first invalid entry: nothing left of it is believed,
        # the trusted hop that passed it on is the answer (the proxy itself here).
        ("10.1.2.3", "203.0.113.7, unknown, , not-an-ip", "10.1.2.3"),
        ("10.1.2.3", "203.0.113.7, unknown", "10.1.2.3"),
        ("10.1.2.3", "203.0.113.7, not-an-ip, 10.9.9.9", "10.9.9.9"),
        ("10.1.2.3", "203.0.113.7,, 10.9.9.9", "10.9.9.9"),
        # Ports and brackets, as some proxies write them.
        ("10.1.2.3", "203.0.113.7:4711", "203.0.113.7"),
        ("10.1.2.3", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.1.2.3", "[2001:db8::2]", "2001:db8::2"),
        ("10.1.2.3", "2001:DB8:0:0::3", "2001:db8::3"),
        # IPv4-mapped IPv6 is IPv4.
        ("10.1.2.3", "::ffff:203.0.113.8", "203.0.113.8"),
        ("::ffff:10.1.2.3", "203.0.113.9", "203.0.113.9"),
        ("::ffff:192.0.2.10", "203.0.113.9", "192.0.2.10"),
        # IPv6 proxy.
        ("2001:db8:ffff::1", "203.0.113.10", "203.0.113.10"),
        # Every hop trusted: the left-most one read is the best we know.
        ("10.1.2.3", "junk, 10.5.5.5, 10.6.6.6", "10.5.5.5"),
        ("10.1.2.3", "10.4.4.4, 10.5.5.5, 10.6.6.6", "10.4.4.4"),
        # No (valid) X-Forwarded-For: the proxy itself.
        ("10.1.2.3", None, "10.1.2.3"),
        ("10.1.2.3", "unknown", "10.1.2.3"),
        ("10.1.2.3", "[::1", "10.1.2.3"),
        # An untrusted peer's header is never read.
        ("192.0.2.10", "203.0.113.7", "192.0.2.10"),
        ("not-an-address", "203.0.113.7", "not-an-address"),
    ],
)
def test_forwarded_for_behind_trusted_proxies(
    remote: str, forwarded: str | None, expected: str
) -> None:
    """Behind trusted proxies the right-most untrusted valid X-Forwarded-For address is the client."""
    assert _ip(remote, forwarded) == expected


@override_settings(
    STABILITY_TRUSTED_PROXIES=["10.0.0.0/8", "not a cidr", "300.1.1.1/8"]
)
def test_invalid_proxy_entries_are_skipped() -> None:
    """Malformed STABILITY_TRUSTED_PROXIES entries are ignored (the system check reports them)."""
    assert [str(n) for n in trusted_networks()] == ["10.0.0.0/8"]
    assert _ip("10.1.1.1", "203.0.113.5") == "203.0.113.5"


@pytest.mark.parametrize(
    "entry", ["10.0.0.1/8", " 10.0.0.0/8", "proxy.internal", 167772160]
)
def test_an_entry_the_check_rejects_is_not_trusted(entry: object) -> None:
    """What E011 reports (host bits set, spaces, a name, a number) trusts nobody: X-Forwarded-For is ignored."""
    with override_settings(STABILITY_TRUSTED_PROXIES=[entry]):
        check_error_codes(["E011"])
        assert trusted_networks() == ()
        assert _ip("10.1.1.1", "203.0.113.5") == "10.1.1.1"


def test_networks_refresh_when_settings_change() -> None:
    """The parsed networks are cached, and the cache follows override_settings."""
    assert trusted_networks() == ()
    with override_settings(STABILITY_TRUSTED_PROXIES=["192.168.0.0/16"]):
        assert [str(n) for n in trusted_networks()] == ["192.168.0.0/16"]
        assert _ip("192.168.1.1", "203.0.113.6") == "203.0.113.6"
    assert trusted_networks() == ()
    assert _ip("192.168.1.1", "203.0.113.6") == "192.168.1.1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4 ", "1.2.3.4"),
        ("1.2.3", None),
        ("", None),
        ("[]", None),
        ("a:b", None),
    ],
)
def test_parse_address(value: str, expected: str | None) -> None:
    """parse_address() returns an address for IP text and None for anything else."""
    parsed = parse_address(value)
    assert (None if parsed is None else str(parsed)) == expected
