"""The range lookup that places a client end agrees with Python's ipaddress on random networks,
and the building file's overlap check finds exactly the overlapping pairs."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loader.places.files import FileRefused, read_building_file
from loader.places.lookup import Lookup, client_end, placements


@st.composite
def networks(draw, version: int | None = None):
    version = version or draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    # mostly near one another, so that they overlap often and queries hit: a small corner of the space
    prefix = draw(st.integers(min_value=bits - 24, max_value=bits))
    start = draw(st.integers(min_value=0, max_value=2 ** 26 - 1)) << (bits - 32 if version == 6 else 0)
    return ipaddress.ip_network((start, prefix) if version == 4 else (start, prefix), strict=False)


def disjoint(candidates: list) -> list:
    kept = []
    for net in candidates:
        if not any(net.version == other.version and net.overlaps(other) for other in kept):
            kept.append(net)
    return kept


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(networks(), max_size=40), st.lists(st.booleans(), min_size=40, max_size=40),
       st.lists(networks(), max_size=30), st.data())
def test_the_lookup_finds_the_one_range_ipaddress_says_holds_the_subnet(candidates, vpn, queries, data):
    kept = disjoint(candidates)
    flags = {str(net): vpn[i] for i, net in enumerate(kept)}
    lookup = Lookup(flags.items())
    # also addresses inside the kept ranges, and single addresses
    for net in kept[:10]:
        offset = data.draw(st.integers(min_value=0, max_value=net.num_addresses - 1))
        queries.append(ipaddress.ip_network(net.network_address + offset))
    for query in queries:
        holders = [net for net in kept if net.version == query.version and query.subnet_of(net)]
        assert len(holders) <= 1
        expected = (str(holders[0]), flags[str(holders[0])]) if holders else None
        text = str(query.network_address) if query.num_addresses == 1 else str(query)
        assert lookup.containing(text) == expected, (text, kept)
        address = str(query.network_address)
        by_address = [net for net in kept if net.version == query.version and query.network_address in net]
        vpn_row = next((str(net) for net in by_address if flags[str(net)]), None)
        subnet_row = str(holders[0]) if holders and not flags[str(holders[0])] else None
        assert lookup.place(text, address) == (vpn_row or subnet_row)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(networks(), min_size=1, max_size=25))
def test_a_file_is_refused_for_overlaps_exactly_when_two_rows_overlap(tmp_path_factory, nets):
    path = tmp_path_factory.mktemp("overlap") / "b.csv"
    path.write_text("".join(f"{net.network_address},n,{net.prefixlen},B{i},,,,,,,,,1,0\n" for i, net in enumerate(nets)))
    pairs = [(a, b) for (a, b) in itertools.combinations(range(len(nets)), 2)
             if nets[a].version == nets[b].version and nets[a].overlaps(nets[b])]
    if not pairs:
        assert [row.key for row in read_building_file(str(path)).networks] == [str(net) for net in nets]
        return
    with pytest.raises(FileRefused) as refused:
        read_building_file(str(path))
    # every problem names two rows that overlap, and every row that overlaps another is named in one
    named = set()
    for problem in refused.value.problems:
        assert " overlaps " in problem
        later = int(problem.split(" line ")[1].split(":")[0]) - 1
        earlier = int(problem.split(" of line ")[1].split(":")[0]) - 1
        assert (earlier, later) in pairs
        named |= {earlier, later}
    if refused.value.total <= len(refused.value.problems):
        assert named == {row for pair in pairs for row in pair}


def test_only_client_ends_are_placed():
    lookup = Lookup([("10.0.0.0/8", False)])
    media = {"callerNetworkSubnet": "10.1.0.0", "calleeNetworkSubnet": "10.2.0.0"}
    assert placements(lookup, {**media, "callerClient": True, "calleeClient": False}) == {"CALLER_AT": "10.0.0.0/8"}
    assert placements(lookup, {**media, "callerClient": True, "calleeClient": True}) == {"CALLER_AT": "10.0.0.0/8",
                                                                                         "CALLEE_AT": "10.0.0.0/8"}
    ends = [{"endpointType": "serviceEndpoint", "userAgentRole": "gateway"}, {"endpointType": "participantEndpoint"},
            {"endpointType": "participantEndpoint", "userAgentRole": "skypeForBusinessAutoAttendant"}, None]
    assert [client_end(end) for end in ends] == [False, True, False, True]
    # an IPv4-mapped IPv6 address is its IPv4 address; what is no address places nothing
    assert lookup.place("::ffff:10.9.0.0", None) == "10.0.0.0/8"
    assert [lookup.place(text, None) for text in ("", "not-an-ip", "10.0.0.0/7", "11.0.0.0")] == [None] * 4
