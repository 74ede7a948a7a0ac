"""Placing a client end of a media line in the admin's map: a pure range lookup.

The rules (docs/graph-model.md, Buildings and networks; :data:`loader.model.PLACEMENT_RULES`)
live here once: the transform places the records a load writes, and ``callgraph buildings``
places what is already loaded, both by :func:`placements`.

Ranges never overlap (the file is refused otherwise), so for each IP version they are kept
sorted by first address, and the one range that may hold an address or a subnet is found by
bisection: the last range starting at or before it, which holds it when it ends at or after it.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from typing import Iterable

SERVICE_ENDPOINT = "serviceEndpoint"
_CACHE_MAX = 200_000  # distinct subnets and addresses remembered; the cache starts over past it


def client_end(edge: dict | None) -> bool:
    """Whether a segment end (its CALLER/CALLEE edge's properties) is a client: a participant that
    is not a service endpoint (a conference server, a gateway, voicemail) and does not speak with a
    service's user agent (an auto attendant's or call queue's resource account, a bot: Microsoft's
    network, not the admin's). For a server-client stream only the client end counts, as in CQD;
    an end Graph described with no endpoint at all is not known to be a service, so it counts.
    The transform keeps the answer on the media line (``callerClient``, ``calleeClient``)."""
    edge = edge or {}
    return edge.get("endpointType") != SERVICE_ENDPOINT and edge.get("userAgentRole") is None


def span(text: str | None) -> tuple[int, int, int] | None:
    """(IP version, first address, last address) of an address or a network (``a.b.c.d`` or
    ``a.b.c.d/nn``, host bits allowed), as integers; an IPv4-mapped IPv6 address counts as its
    IPv4 address. None when ``text`` is neither."""
    if not text or not isinstance(text, str):
        return None
    try:
        if "/" in text:
            net = ipaddress.ip_network(text.strip(), strict=False)
        else:
            address = ipaddress.ip_address(text.strip())
            if address.version == 6 and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            net = ipaddress.ip_network(address)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


class Lookup:
    """The map's ranges, for placing: built from (key, vpn) pairs, key ``address/prefix``."""

    def __init__(self, ranges: Iterable[tuple[str, bool]]):
        rows = []
        for key, vpn in ranges:
            found = span(key)
            if found is None:
                raise ValueError(f"not a network: {key!r}")
            rows.append((found, key, bool(vpn)))
        rows.sort()
        self.size = len(rows)
        self.has_vpn = any(vpn for _, _, vpn in rows)
        # IP version -> parallel lists: first addresses (sorted), last addresses, keys, VPN flags
        self._by_version: dict[int, tuple[list, list, list, list]] = {}
        for (version, first, last), key, vpn in rows:
            starts, ends, keys, vpns = self._by_version.setdefault(version, ([], [], [], []))
            if starts and first <= ends[-1]:
                raise ValueError(f"overlapping ranges: {keys[-1]} and {key}")
            starts.append(first)
            ends.append(last)
            keys.append(key)
            vpns.append(vpn)
        self._cache: dict = {}

    def __len__(self) -> int:
        return self.size

    def containing(self, text: str | None) -> tuple[str, bool] | None:
        """(key, vpn) of the range that holds the address or network ``text`` whole, or None."""
        cache = self._cache
        if text in cache:
            return cache[text]
        found = None
        where = span(text)
        if where is not None and where[0] in self._by_version:
            starts, ends, keys, vpns = self._by_version[where[0]]
            i = bisect_right(starts, where[1]) - 1
            if i >= 0 and ends[i] >= where[2]:
                found = keys[i], vpns[i]
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[text] = found
        return found

    def place(self, subnet: str | None, ip_address: str | None) -> str | None:
        """The network key an end belongs to: its own address when that lies in a VPN row (VPN
        clients report unreliable subnets), else its subnet when a non-VPN row holds it."""
        if self.has_vpn and ip_address:
            found = self.containing(ip_address)
            if found is not None and found[1]:
                return found[0]
        if subnet:
            found = self.containing(subnet)
            if found is not None and not found[1]:
                return found[0]
        return None


# Media properties an end is placed from, and the edge each side's placement becomes
SIDES = (("caller", "callerNetworkSubnet", "callerNetworkIpAddress", "CALLER_AT"),
         ("callee", "calleeNetworkSubnet", "calleeNetworkIpAddress", "CALLEE_AT"))


def placements(lookup: Lookup, media: dict) -> dict[str, str]:
    """Edge type (CALLER_AT, CALLEE_AT) -> network key, for the client ends of one media line
    (its stored properties: ``callerClient``, ``calleeClient`` say which ends are clients, see
    :func:`client_end`) that the map places."""
    out = {}
    for side, subnet, address, edge in SIDES:
        if media.get(f"{side}Client"):
            key = lookup.place(media.get(subnet), media.get(address))
            if key is not None:
                out[edge] = key
    return out
