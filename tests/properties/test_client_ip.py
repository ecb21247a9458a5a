"""Properties of client_ip(): no client chooses its own address from outside the trusted proxies."""

from __future__ import annotations

import ipaddress

from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st

from django_stability.ratelimit._client_ip import client_ip, parse_address
from tests.properties import PROPERTY

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]
_NETWORKS = [ipaddress.ip_network(p) for p in PROXIES]

trusted = st.one_of(
    st.ip_addresses(network="10.0.0.0/8"),
    st.ip_addresses(network="2001:db8:ffff::/48"),
)
untrusted = st.ip_addresses().filter(
    lambda a: (
        not any(a in n for n in _NETWORKS)
        and not (isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None)
    )
)
addresses = st.one_of(trusted, untrusted)
# What a client can put in the header: addresses, junk, empty hops, any text.
hops = st.one_of(
    addresses.map(str),
    st.text(max_size=12),
    st.sampled_from(["", " ", "unknown", "[::1]", "1.2.3.4:80"]),
)
forwarded = st.one_of(st.text(max_size=60), st.lists(hops, max_size=6).map(",".join))


def _ip(remote: str, header: str | None) -> str:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = remote
    if header is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = header
    with override_settings(STABILITY_TRUSTED_PROXIES=PROXIES):
        return client_ip(request)


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in _NETWORKS)


@PROPERTY
@given(untrusted, st.one_of(st.none(), forwarded))
def test_an_untrusted_peer_is_the_client_whatever_it_forwards(
    remote: ipaddress.IPv4Address | ipaddress.IPv6Address, header: str | None
) -> None:
    """From an untrusted REMOTE_ADDR, X-Forwarded-For is ignored: the answer is REMOTE_ADDR."""
    assert _ip(str(remote), header) == str(remote)


@PROPERTY
@given(st.one_of(st.none(), forwarded))
def test_without_trusted_proxies_the_header_is_never_read(header: str | None) -> None:
    """With STABILITY_TRUSTED_PROXIES empty, even a 10.x peer is taken as the client."""
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = "10.1.2.3"
    if header is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = header
    with override_settings(STABILITY_TRUSTED_PROXIES=[]):
        assert client_ip(request) == "10.1.2.3"


@PROPERTY
@given(trusted, st.lists(addresses, min_size=1, max_size=6), st.lists(hops, max_size=3))
def test_behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client(
    remote: ipaddress.IPv4Address | ipaddress.IPv6Address,
    chain: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    forged: list[str],
) -> None:
    """The client is the right-most untrusted address; what a client wrote left of it is ignored."""
    # Whatever the client forged comes first (left): proxies only ever append.
    header = ",".join([*forged, *map(str, chain)])
    got = _ip(str(remote), header)
    untrusted_hops = [a for a in chain if not _is_trusted(a)]
    if untrusted_hops:
        assert got == str(untrusted_hops[-1])
    else:
        assert got == _expected(str(remote), header)


@PROPERTY
@given(trusted, forwarded)
def test_behind_a_trusted_proxy_the_answer_is_an_address_from_the_request(
    remote: ipaddress.IPv4Address | ipaddress.IPv6Address, header: str
) -> None:
    """A trusted peer's answer is REMOTE_ADDR or a valid address taken from the header, never junk."""
    got = _ip(str(remote), header)
    ipaddress.ip_address(got)  # raises unless it is an address
    assert got == str(remote) or got in _valid_hops(header)


def _valid_hops(header: str) -> list[str]:
    return [
        str(a) for hop in header.split(",") if (a := parse_address(hop)) is not None
    ]


def _expected(remote: str, header: str) -> str:
    """The rule, read off the header from the right: the first untrusted hop; reading stops
    at the first entry that is not an address (the last address read, else the peer);
    with every hop trusted, the left-most one."""
    found: str | None = None
    for hop in reversed(header.split(",")):
        address = parse_address(hop)
        if address is None:
            break
        found = str(address)
        if not _is_trusted(address):
            break
    return remote if found is None else found


@PROPERTY
@given(trusted, forwarded)
def test_behind_a_trusted_proxy_any_header_resolves_by_the_rule(
    remote: ipaddress.IPv4Address | ipaddress.IPv6Address, header: str
) -> None:
    """For any X-Forwarded-For text, the answer is the right-most untrusted valid hop (else as documented)."""
    assert _ip(str(remote), header) == _expected(str(remote), header)
