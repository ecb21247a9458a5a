"""The address of the client behind a request, trusting only configured proxies."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from django.http import HttpRequest

from django_stability.conf import cached_on_settings, conf

_Address = IPv4Address | IPv6Address
_Network = IPv4Network | IPv6Network


def proxy_network(entry: object) -> _Network:
    """One ``STABILITY_TRUSTED_PROXIES`` entry: an IP address or a CIDR network.

    Raises:
        TypeError: ``entry`` is not a string.
        ValueError: it is neither an address nor a network (host bits set
            included: ``10.0.0.1/8`` is most likely a typo, not ``10.0.0.0/8``).
    """
    if not isinstance(entry, str):
        raise TypeError(f"must be an IP address or network string, not {entry!r}")
    return ipaddress.ip_network(entry)


@cached_on_settings
def trusted_networks() -> tuple[_Network, ...]:
    """``STABILITY_TRUSTED_PROXIES`` parsed; entries :func:`proxy_network` rejects are skipped.

    A malformed entry is reported at startup by the system checks; here it is
    ignored rather than turned into a 500 for every request.
    """
    networks = []
    for entry in conf.trusted_proxies:
        try:
            networks.append(proxy_network(entry))
        except (TypeError, ValueError):
            continue
    return tuple(networks)


def parse_address(value: str) -> _Address | None:
    """An IP address from a header value, or ``None`` when it is not one.

    Accepts ``1.2.3.4``, ``1.2.3.4:port``, ``2001:db8::1``, ``[2001:db8::1]``
    and ``[2001:db8::1]:port`` (some proxies append the port); IPv4-mapped IPv6
    addresses become IPv4.
    """
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _unmapped(remote: str) -> str:
    """``REMOTE_ADDR`` as given, unless it is IPv4-mapped IPv6: then its IPv4 address."""
    if ":" not in remote:  # IPv4 (or nothing): the common case costs no parsing
        return remote
    address = parse_address(remote)
    return str(address) if isinstance(address, IPv4Address) else remote


def _is_trusted(address: _Address, networks: tuple[_Network, ...]) -> bool:
    return any(address in network for network in networks)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the peer (``REMOTE_ADDR``) is one of ``STABILITY_TRUSTED_PROXIES``: only then are its headers believed."""
    networks = trusted_networks()
    if not networks:
        return False
    address = parse_address(request.META.get("REMOTE_ADDR") or "")
    return address is not None and _is_trusted(address, networks)


def client_ip(request: HttpRequest) -> str:
    """The client's IP address as a string (``""`` if the server gave none).

    Args:
        request: the current request.

    Returns:
        ``REMOTE_ADDR`` as the server gave it (IPv4-mapped IPv6 written as
        IPv4), unless it is a trusted proxy: then the right-most
        ``X-Forwarded-For`` address that is not a trusted proxy (normalised,
        e.g. without a port), or the left-most one when all of them are
        trusted. Reading stops at the first entry (from the right) that is not
        an address: the answer is then the right-most address read so far,
        the trusted hop that passed the invalid entry on, or ``REMOTE_ADDR``
        when there is none.
    """
    remote = _unmapped(request.META.get("REMOTE_ADDR") or "")
    networks = trusted_networks()
    if not networks:
        # The common case, and the hot path: no proxy to believe, nothing to parse.
        return remote
    address = parse_address(remote)
    if address is None or not _is_trusted(address, networks):
        return remote
    found: _Address | None = None
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop_address = parse_address(hop)
        if hop_address is None:
            # Written by a client, or by a broken hop: nothing further left is believed.
            break
        found = hop_address
        if not _is_trusted(found, networks):
            break
    return remote if found is None else str(found)
