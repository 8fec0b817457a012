"""The client's address behind trusted reverse proxies, for rate limits and bans only.

Behind Caddy/nginx/a load balancer REMOTE_ADDR is the proxy's address for everyone, so the
real client is read from X-Forwarded-For, but only as far as trusted hops vouch for it: the
header is walked from the right (the end our own proxies appended to), trusted addresses are
skipped, and the first untrusted one is the client. The leftmost entries are whatever the
client chose to send and are never believed.

The result is handed straight to ``source_key`` (a rotating keyed hash). It is never stored or
logged, and nothing here logs it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# No real proxy chain is longer; a longer header is not walked past this many entries.
MAX_HOPS = 32


def parse_address(value: str) -> IPAddress | None:
    """An address from REMOTE_ADDR or one X-Forwarded-For entry; None when malformed.

    Accepts ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``, ``[2001:db8::1]`` and
    ``[2001:db8::1]:443``. IPv4-mapped IPv6 (``::ffff:1.2.3.4``, as dual-stack sockets report
    it) becomes plain IPv4, so one client has one spelling.
    """
    text = value.strip()
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        rest = text[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isascii() and rest[1:].isdigit()):
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has at least two colons
        host, _, port = text.partition(":")
        if not (port.isascii() and port.isdigit()):
            return None
        text = host
    if not text or "%" in text:  # no zone ids: they name an interface, not a client
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_networks() -> tuple[IPNetwork, ...]:
    """``settings.TRUSTED_PROXIES`` as networks (tests may set plain strings)."""
    configured: Iterable[IPNetwork | str] = getattr(settings, "TRUSTED_PROXIES", ()) or ()
    return tuple(
        item if not isinstance(item, str) else ipaddress.ip_network(item.strip(), strict=False)
        for item in configured
    )


def in_networks(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    """Whether ``address`` is in one of ``networks`` (an IPv4 address is never in an IPv6 one)."""
    return any(address.version == net.version and address in net for net in networks)


def client_address(request: HttpRequest) -> str:
    """The address to key rate limits and bans on (see the module docstring)."""
    raw_remote = request.META.get("REMOTE_ADDR", "") or ""
    remote = parse_address(raw_remote)
    if remote is None:
        return raw_remote  # nothing to normalise; check_source copes with "" as well
    networks = trusted_networks()
    if not networks or not in_networks(remote, networks):
        return str(remote)
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not header or not header.strip():
        return str(remote)
    entries = header.split(",")
    client = remote
    for entry in reversed(entries[-MAX_HOPS:]):
        address = parse_address(entry)
        if address is None:
            # A trusted hop wrote something we cannot read: do not guess further left.
            return str(remote)
        client = address
        if not in_networks(address, networks):
            return str(address)
    if len(entries) > MAX_HOPS:
        return str(remote)  # more trusted hops than any real chain: do not guess
    # Every hop is trusted: the request came from inside the proxies' own networks. Like
    # nginx's real_ip_recursive, use the furthest hop.
    return str(client)


def limit_key(request: HttpRequest) -> str:
    """What rate limits and bans key on: the client's address, an IPv6 one by its /64 (the block
    a phone or a household is given, within which it could otherwise hop at will)."""
    value = client_address(request)
    address = parse_address(value)
    if address is not None and address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return value
