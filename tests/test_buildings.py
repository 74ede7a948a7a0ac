"""An admin loads CQD's building data file: every client end of every media line is placed in
its network and building, whichever came first, a new file re-places what is loaded and says
what changed, and a file CQD would refuse is refused whole, naming line and column."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from conftest import query, snapshot
from loader.cli import main

from pathlib import Path

PLACES = Path(__file__).resolve().parent / "fixtures" / "places"
BUILDINGS = PLACES / "buildings.csv"
TENANT = "dc368399-474c-4d40-900c-6265431fd81f"


def user(uid: str, name: str) -> dict:
    return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint", "name": f"{name.upper()}-LT",
            "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent", "platform": "windows",
                          "productFamily": "teams", "headerValue": "Teams"},
            "identity": {"user": {"id": uid, "displayName": name, "tenantId": TENANT}}}


MCU = {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
       "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                     "role": "skypeForBusinessAudioVideoMcu", "headerValue": "AVMCUSvc/1.0"}}
ANNA, BO, CAI = user("u-anna", "Anna"), user("u-bo", "Bo"), user("u-cai", "Cai")


def call(rid: str, caller: dict, callee: dict, caller_net: dict, callee_net: dict) -> dict:
    """A call of one session, one segment and one audio line between two ends on these networks."""
    stream = {"streamDirection": "callerToCallee", "averageJitter": "PT0.01S", "packetUtilization": 900}
    segment = {"id": f"{rid}-seg", "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
               "caller": caller, "callee": callee,
               "media": [{"label": "main-audio", "callerNetwork": caller_net, "calleeNetwork": callee_net,
                          "streams": [stream, {**stream, "streamDirection": "calleeToCaller"}]}]}
    return {"id": rid, "version": 1, "type": "peerToPeer", "modalities": ["audio"],
            "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
            "sessions": [{"id": f"{rid}-s", "modalities": ["audio"], "caller": caller, "callee": callee,
                          "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
                          "segments": [segment]}]}


def net(subnet: str | None, ip: str | None = None) -> dict:
    return {k: v for k, v in (("subnet", subnet), ("ipAddress", ip), ("connectionType", "wifi")) if v is not None}


CALLS = [
    # Anna on the lab's Wi-Fi calls Bo in Bergen: a /24, and a subnet inside the Bergen supernet
    call("c-lab-bergen", ANNA, BO, net("10.51.4.0", "10.51.4.23"), net("10.60.7.0", "10.60.7.41")),
    # Cai joins a meeting from a subnet no row has; the conference server's end is never placed
    call("c-meeting", CAI, MCU, net("172.16.1.0", "172.16.1.9"), net("10.51.5.0", "10.51.5.3")),
    # Anna on the VPN: her subnet says the lab, her address is in the VPN pool (VPN rows by address);
    # Bo at home on IPv6 in the lab; an IPv4 subnet inside the VPN range alone places nobody
    call("c-vpn", ANNA, BO, net("10.51.4.0", "10.8.3.4"), net("2001:db8:10:5::", "2001:db8:10:5::20")),
    call("c-vpn-subnet", CAI, BO, net("10.8.0.0", "192.0.2.10"), net(None, "10.60.1.1")),
    # Bo at home (outside the corporate network), Cai without any network information
    call("c-home", BO, CAI, net("192.168.1.0", "192.168.1.10"), {}),
]
PLACED = [
    ["c-lab-bergen", "CALLEE_AT", "10.60.0.0/16", "Bergen, Harbour House"],
    ["c-lab-bergen", "CALLER_AT", "10.51.4.0/24", "OSL-LAB"],
    ["c-home", "CALLER_AT", "192.168.0.0/16", "Home"],
    ["c-vpn", "CALLEE_AT", "2001:db8:10::/48", "OSL-LAB"],
    ["c-vpn", "CALLER_AT", "10.8.0.0/16", "VPN"],
]


def placed(graph) -> list:
    return sorted([row["p"] for row in query(graph, """
        MATCH (m:Media)-[r:CALLER_AT|CALLEE_AT]->(n:Network)-[:IN_BUILDING]->(b:Building)
        RETURN [m.callRecordId, type(r), n.key, b.name] AS p""")])


def run(*args, code: int = 0):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def write_calls(path: Path, calls: list) -> Path:
    import json

    path.write_text("\n".join(json.dumps(c) for c in calls) + "\n")
    return path


def wipe(graph) -> None:
    with graph.session() as session:
        session.run("MATCH (n) DETACH DELETE n").consume()


def the_graph(graph) -> tuple:
    """Everything but when the map was loaded."""
    nodes, rels = snapshot(graph)
    return [n for n in nodes if "loadedAt" not in n], rels


def test_client_ends_are_placed_and_both_load_orders_give_the_same_graph(graph, cli_env, tmp_path):
    calls = write_calls(tmp_path / "calls.jsonl", CALLS)
    run("load", "--quiet", calls)
    result = run("buildings", "--quiet", BUILDINGS)
    assert result.stderr.splitlines()[:2] == [
        f"{BUILDINGS}: 6 networks in 4 buildings (CSV, 15 columns, with VPN): map version 1",
        "networks: 6 added, 0 removed, 0 moved to another building, 0 changed (name, InsideCorp, ExpressRoute or "
        "VPN); buildings: 4 added, 0 removed"]
    assert result.stderr.splitlines()[-1].startswith(
        "placed 5 client ends of 5 media lines in 5 call records in ")
    assert result.stderr.splitlines()[-1].endswith("s (5 placements changed)")
    assert placed(graph) == sorted(PLACED)
    after_calls = the_graph(graph)

    wipe(graph)
    run("buildings", "--quiet", BUILDINGS)
    assert placed(graph) == []
    run("load", "--quiet", calls)
    assert placed(graph) == sorted(PLACED)
    assert query(graph, "MATCH (m:BuildingMap) RETURN m {.*, loadedAt: null} AS m") == [{"m": {
        "id": "all", "file": str(BUILDINGS), "networks": 6, "buildings": 4, "version": 1, "complete": True,
        "placedEnds": 0, "loadedAt": None}}]
    nodes, rels = the_graph(graph)
    # the same graph but for the count of ends the file placed when loaded (none were loaded yet)
    assert rels == after_calls[1]
    assert [n.replace("placedEnds:0", "placedEnds:5") for n in nodes] == after_calls[0]

    # the map as the file says, walkable from a building
    assert query(graph, "MATCH (b:Building {name: 'Bergen, Harbour House'}) RETURN properties(b) AS b") == [{"b": {
        "name": "Bergen, Harbour House", "ownershipType": "Leased", "buildingType": "Office", "officeType": "Sales",
        "city": "Bergen", "zipCode": "5003", "country": "Norway", "state": "Vestland", "region": "EMEA"}}]
    assert query(graph, "MATCH (n:Network) RETURN properties(n) AS n ORDER BY n.line") == [{"n": n} for n in [
        {"key": "10.51.4.0/24", "address": "10.51.4.0", "prefixLength": 24, "name": "OSL-LAB Wi-Fi",
         "insideCorp": True, "expressRoute": False, "vpn": False, "line": 1},
        {"key": "10.51.5.0/24", "address": "10.51.5.0", "prefixLength": 24, "name": "OSL-LAB wired",
         "insideCorp": True, "expressRoute": False, "vpn": False, "line": 2},
        {"key": "10.60.0.0/16", "address": "10.60.0.0", "prefixLength": 16, "name": "Bergen campus",
         "insideCorp": True, "expressRoute": True, "vpn": False, "line": 3},
        {"key": "10.8.0.0/16", "address": "10.8.0.0", "prefixLength": 16, "name": "Corp VPN pool",
         "insideCorp": True, "expressRoute": False, "vpn": True, "line": 4},
        {"key": "192.168.0.0/16", "address": "192.168.0.0", "prefixLength": 16, "name": "Home networks",
         "insideCorp": False, "expressRoute": False, "vpn": False, "line": 5},
        {"key": "2001:db8:10::/48", "address": "2001:db8:10::", "prefixLength": 48, "name": "OSL IPv6",
         "insideCorp": True, "expressRoute": False, "vpn": False, "line": 6}]]
    assert query(graph, """
        MATCH (b:Building {name: 'OSL-LAB'})<-[:IN_BUILDING]-(n)<-[:CALLER_AT|CALLEE_AT]-(:Media)
              <-[:CONTAINS]-(:Segment)<-[:CONTAINS]-(:Session)<-[:CONTAINS]-(c:CallRecord)
        RETURN n.key AS network, c.id AS call ORDER BY call""") == [
        {"network": "10.51.4.0/24", "call": "c-lab-bergen"}, {"network": "2001:db8:10::/48", "call": "c-vpn"}]

    # a re-load of the same calls, or of the same file, changes nothing
    before = the_graph(graph)
    run("load", "--quiet", calls)
    assert the_graph(graph) == before
    result = run("buildings", "--quiet", BUILDINGS)
    assert "networks: 0 added, 0 removed, 0 moved" in result.stderr
    assert result.stderr.splitlines()[-1].endswith("s (0 placements changed)")
    assert placed(graph) == sorted(PLACED)


def test_a_new_file_replaces_the_map_says_what_changed_and_re_places_what_is_loaded(graph, cli_env, tmp_path):
    run("load", "--quiet", write_calls(tmp_path / "calls.jsonl", CALLS))
    run("buildings", "--quiet", BUILDINGS)
    lines = BUILDINGS.read_text().splitlines()
    new = tmp_path / "buildings-v2.csv"
    new.write_text("\n".join([
        lines[0],
        # the wired floor moves to Bergen
        lines[1].replace("OSL-LAB,Owned,Lab,Engineering,Oslo,0150,Norway,Oslo,EMEA",
                         '"Bergen, Harbour House",Leased,Office,Sales,Bergen,5003,Norway,Vestland,EMEA'),
        lines[2], lines[3],
        # Home is gone; the annex where Cai joined from is new; the IPv6 range is now outside corp
        "172.16.0.0,Annex,12,Annex,Leased,Office,,Oslo,,Norway,,EMEA,1,0,0",
        lines[5].replace(",1,0,0", ",0,0,0"),
    ]) + "\n")
    result = run("buildings", "--quiet", new)
    assert result.stderr.splitlines()[:-1] == [
        f"{new}: 6 networks in 4 buildings (CSV, 15 columns, with VPN): map version 2",
        "networks: 1 added, 1 removed, 1 moved to another building, 1 changed (name, InsideCorp, ExpressRoute or "
        "VPN); buildings: 1 added, 1 removed",
        "  added 172.16.0.0/12",
        "  removed 192.168.0.0/16",
        "  moved 10.51.5.0/24: OSL-LAB -> Bergen, Harbour House",
        "  changed 2001:db8:10::/48",
        "  building added Annex",
        "  building removed Home",
    ]
    # Bo at home is no longer placed, Cai in the annex is; the MCU's end in the moved network never was
    assert result.stderr.splitlines()[-1].endswith("s (2 placements changed)")
    assert placed(graph) == sorted([p for p in PLACED if p[0] != "c-home"]
                                   + [["c-meeting", "CALLER_AT", "172.16.0.0/12", "Annex"]])
    assert query(graph, "MATCH (b:Building) RETURN b.name AS name ORDER BY name") == [
        {"name": n} for n in ["Annex", "Bergen, Harbour House", "OSL-LAB", "VPN"]]
    assert query(graph, "MATCH (n:Network {key: '10.51.5.0/24'})-[:IN_BUILDING]->(b) RETURN b.name AS b") == [
        {"b": "Bergen, Harbour House"}]
    assert query(graph, "MATCH (m:BuildingMap) RETURN m.version AS v, m.complete AS c, m.placedEnds AS e") == [
        {"v": 2, "c": True, "e": 5}]


OVERLAPPING = (
    "10.51.0.0,OSL campus,16,OSL,,,,,,,,,1,0\n"
    "10.60.0.0,Bergen,16,Bergen,,,,,,,,,1,0\n"
    "10.51.4.0,OSL lab,24,OSL-LAB,,,,,,,,,1,0\n"
)


def test_an_overlapping_file_is_refused_naming_both_rows_and_changes_nothing(graph, cli_env, tmp_path):
    run("load", "--quiet", write_calls(tmp_path / "calls.jsonl", CALLS))
    run("buildings", "--quiet", BUILDINGS)
    before = snapshot(graph)
    bad = tmp_path / "overlap.csv"
    bad.write_text(OVERLAPPING)
    result = run("buildings", bad, code=2)
    assert result.stderr == (
        f"Error: {bad} line 3: 10.51.4.0/24 overlaps 10.51.0.0/16 of line 1: CQD refuses overlapping ranges (an "
        "address in both could map to either building); remove one row, or split the wider range around the "
        "other; the file was refused whole and nothing was changed: fix it and run the command again\n")
    assert snapshot(graph) == before


def test_a_tsv_file_is_the_same_map(graph, cli_env, tmp_path):
    result = run("buildings", "--check", PLACES / "buildings.tsv")
    assert result.stderr == (f"{PLACES / 'buildings.tsv'}: 6 networks in 4 buildings (TSV, 15 columns, with VPN): "
                             "fine, nothing loaded (--check)\n")
    assert query(graph, "MATCH (n) RETURN count(n) AS n") == [{"n": 0}]  # --check writes nothing
    run("buildings", "--quiet", BUILDINGS)
    csv_map = the_graph(graph)
    wipe(graph)
    run("buildings", "--quiet", PLACES / "buildings.tsv")
    nodes, rels = the_graph(graph)
    assert ([n.replace("buildings.tsv", "buildings.csv") for n in nodes], rels) == csv_map


def test_the_endpoint_data_file_names_the_machines(graph, cli_env, tmp_path):
    run("load", "--quiet", write_calls(tmp_path / "calls.jsonl", CALLS))
    endpoints = tmp_path / "endpoints.csv"
    shutil.copy(PLACES / "endpoints.csv", endpoints)
    result = run("endpoints", endpoints)
    assert result.stderr == f"{endpoints}: 2 machines (CSV): 2 added, 0 removed, 0 changed\n"
    assert query(graph, "MATCH (d:Device) RETURN properties(d) AS d ORDER BY d.name") == [
        {"d": {"name": "OSL-DT-0007", "model": "Contoso Desk 9", "type": "Desktop"}},
        {"d": {"name": "OSL-LT-0042", "model": "Fabrikam Model 123", "type": "Laptop", "label1": "IT managed",
               "label2": "Floor 3", "label3": "Oslo, lab"}}]
    # Anna's laptop is in the file under her machine name: the join a device report makes
    endpoints.write_text("ANNA-LT,Fabrikam Model 123,Laptop,,,\nOSL-DT-0007,Contoso Desk 10,Desktop,,,\n")
    result = run("endpoints", endpoints)
    assert result.stderr == f"{endpoints}: 2 machines (CSV): 1 added, 1 removed, 1 changed\n"
    assert query(graph, """
        MATCH (:Segment)-[e:CALLER|CALLEE]->(u:Endpoint) MATCH (d:Device {name: e.name})
        RETURN DISTINCT u.displayName AS user, d.model AS model""") == [{"user": "Anna", "model": "Fabrikam Model 123"}]
