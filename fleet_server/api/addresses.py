"""The client's address: the one rule for the login limits and the audit log.

Behind a reverse proxy every TCP connection comes from the proxy, so the
client's address has to be read from ``X-Forwarded-For``. That header is
written by whoever sends the request, so it is believed only when the TCP peer
is a proxy listed in ``FLEET_API_TRUSTED_PROXIES``, and then only as far as
the proxies wrote it: reading from the right, each address that is itself a
trusted proxy is skipped, and the first one that is not is the client. What a
client put in the header itself lies further left and is never reached.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IPAddress | None:
    """An IP address, IPv4-mapped IPv6 as IPv4; None when ``text`` is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses and CIDR blocks (``10.0.0.0/8``, ``::1``); ValueError on a bad one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(entries)


def _trusted(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: tuple[str, ...]
) -> str | None:
    """The client's address for a request from TCP ``peer`` carrying the
    ``X-Forwarded-For`` header values ``forwarded_for`` (in order); None when
    the peer is not an IP address (a Unix socket)."""
    address = parse_address(peer) if peer is not None else None
    if address is None:
        return None
    networks = _networks(trusted_proxies)
    if not _trusted(address, networks):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        previous = parse_address(hop)
        if previous is None:
            # Not what a proxy writes: stop at the last address a trusted
            # proxy vouched for rather than guess.
            break
        address = previous
        if not _trusted(address, networks):
            break
    return str(address)
