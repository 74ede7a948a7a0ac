"""An admin with a building file asks where it is bad in their own places: per building, between
two buildings, which subnets the file misses, and the quality review guide's three rates against
their targets. Seven hand-made calls on tests/fixtures/places/buildings.csv; every expected
value below is counted by hand from the table in CALLS."""

from __future__ import annotations

import pytest

from conftest import query
from test_buildings import BUILDINGS, MCU, run, user, wipe, write_calls
from loader.queries.saved import load_all, run as run_saved

ANNA, BO, CAI = user("u-anna", "Anna"), user("u-bo", "Bo"), user("u-cai", "Cai")
GOOD, POOR, UNCLASSIFIED = ("PT0.01S", 900), ("PT0.05S", 900), (None, 900)  # jitter, packets (cqd rule): no metric


def net(subnet: str, kind: str) -> dict:
    return {"subnet": subnet, "ipAddress": subnet[:-1] + "9", "connectionType": kind}


def call(rid: str, caller: dict, callee: dict, caller_net: dict, callee_net: dict, sent: tuple | None,
         stage: str | None = None) -> dict:
    """One session, one segment, one audio line; ``sent``: the caller's and the callee's stream
    (None: the line has no streams, as a call that never set up)."""
    streams = [] if sent is None else [
        {"streamDirection": direction, "packetUtilization": packets, **({"averageJitter": jitter} if jitter else {})}
        for direction, (jitter, packets) in zip(("callerToCallee", "calleeToCaller"), sent)]
    segment = {"id": f"{rid}-seg", "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
               "caller": caller, "callee": callee,
               "media": [{"label": "main-audio", "callerNetwork": caller_net, "calleeNetwork": callee_net,
                          "streams": streams}]}
    if stage:
        segment["failureInfo"] = {"stage": stage, "reason": "test"}
    return {"id": rid, "version": 1, "type": "peerToPeer", "modalities": ["audio"],
            "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
            "sessions": [{"id": f"{rid}-s", "modalities": ["audio"], "caller": caller, "callee": callee,
                          "startDateTime": "2026-11-20T09:00:00Z", "endDateTime": "2026-11-20T09:10:00Z",
                          "segments": [segment]}]}


LAB_WIFI, LAB_WIRED = net("10.51.4.0", "wifi"), net("10.51.5.0", "wired")  # OSL-LAB, inside
BERGEN = net("10.60.7.0", "wired")  # inside the "Bergen, Harbour House" supernet 10.60.0.0/16
HOME = net("192.168.1.0", "wifi")  # Home: InsideCorp = 0
UNMAPPED = net("172.16.1.0", "wired")  # no row
CALLS = [  # caller end -> callee end; the streams each sent; how the segment failed
    call("q1", ANNA, BO, LAB_WIFI, BERGEN, (POOR, GOOD)),
    call("q2", ANNA, CAI, LAB_WIRED, LAB_WIFI, (POOR, POOR)),  # both ends in OSL-LAB: counted once there
    call("q3", CAI, BO, LAB_WIRED, BERGEN, (GOOD, GOOD)),
    call("q4", BO, ANNA, HOME, UNMAPPED, (GOOD, UNCLASSIFIED)),
    call("q5", CAI, MCU, UNMAPPED, net("52.113.0.0", "wired"), (GOOD, POOR)),  # the server's end is no client's
    call("q6", ANNA, BO, LAB_WIFI, BERGEN, None, stage="callSetup"),
    call("q7", CAI, BO, LAB_WIRED, BERGEN, (GOOD, GOOD), stage="midcall"),
]


def saved(graph, name, **params):
    q = load_all()[name]
    columns, rows = run_saved(graph, q, q.bind({k: str(v) for k, v in params.items()}))
    return [dict(zip(columns, row)) for row in rows]


@pytest.fixture
def loaded(graph, cli_env, tmp_path):
    wipe(graph)
    run("buildings", "--quiet", BUILDINGS)
    run("load", "--quiet", write_calls(tmp_path / "calls.jsonl", CALLS))
    return graph


def test_poor_buildings_counts_each_stream_once_per_building_worst_first(loaded):
    assert saved(loaded, "poor-buildings") == [
        {"building": "OSL-LAB", "inside": True, "network": ["10.51.4.0/24", "10.51.5.0/24"], "streams": 8,
         "poorStreams": 3, "poorRatio": 0.375, "wiredStreams": 4, "wiredPoorStreams": 0, "wiredPoorRatio": 0.0,
         "wifiStreams": 4, "wifiPoorStreams": 3, "wifiPoorRatio": 0.75},
        {"building": "Bergen, Harbour House", "inside": True, "network": ["10.60.0.0/16"], "streams": 6,
         "poorStreams": 1, "poorRatio": 0.167, "wiredStreams": 4, "wiredPoorStreams": 0, "wiredPoorRatio": 0.0,
         "wifiStreams": 2, "wifiPoorStreams": 1, "wifiPoorRatio": 0.5},
        {"building": "Home", "inside": False, "network": ["192.168.0.0/16"], "streams": 1, "poorStreams": 0,
         "poorRatio": 0.0, "wiredStreams": 0, "wiredPoorStreams": 0, "wiredPoorRatio": None,
         "wifiStreams": 1, "wifiPoorStreams": 0, "wifiPoorRatio": 0.0},
    ]
    assert [r["building"] for r in saved(loaded, "poor-buildings", minStreams=6)] == ["OSL-LAB", "Bergen, Harbour House"]
    assert saved(loaded, "poor-buildings", since="2026-11-21T00:00:00Z") == []
    assert len(saved(loaded, "poor-buildings", since="2026-11-20T00:00:00Z", until="2026-11-21T00:00:00Z")) == 3


def test_building_pairs_caller_building_to_callee_building(loaded):
    assert saved(loaded, "building-pairs") == [
        {"callerBuilding": "OSL-LAB", "calleeBuilding": "OSL-LAB", "streams": 2, "poorStreams": 2, "poorRatio": 1.0,
         "wifiStreams": 2, "wifiPoorStreams": 2, "wifiPoorRatio": 1.0},
        {"callerBuilding": "OSL-LAB", "calleeBuilding": "Bergen, Harbour House", "streams": 6, "poorStreams": 1,
         "poorRatio": 0.167, "wifiStreams": 2, "wifiPoorStreams": 1, "wifiPoorRatio": 0.5},
    ]


def test_missing_subnets_lists_the_client_subnets_no_row_maps(loaded):
    assert saved(loaded, "missing-subnets", minStreams=4) == [
        {"subnet": "172.16.1.0", "streams": 4, "classified": 3, "poorStreams": 1, "poorRatio": 0.333,
         "users": ["Anna", "Cai"]}]
    assert saved(loaded, "missing-subnets", minStreams=5) == []
    assert saved(loaded, "missing-subnets") == []  # CQD's 10 audio streams at least


def test_reliability_by_building_and_inside_outside_against_the_targets(loaded):
    def row(scope, building, inside, lines, setup, setup_rate, drops, drop_rate, streams, poor, poor_rate, misses):
        targets = (0.005, 0.02, 0.02) if inside else (0.01, 0.03, 0.03)
        return {"scope": scope, "building": building, "inside": inside, "lines": lines, "setupFailures": setup,
                "setupFailureRate": setup_rate, "setupTarget": targets[0], "drops": drops,
                "dropFailureRate": drop_rate, "dropTarget": targets[1], "streams": streams, "poorStreams": poor,
                "poorRatio": poor_rate, "poorTarget": targets[2], "misses": misses}

    everything = ["setup", "drop", "poor"]
    assert saved(loaded, "reliability") == [
        row("building", "OSL-LAB", True, 5, 1, 0.2, 1, 0.25, 8, 3, 0.375, everything),  # q1 q2 q3 q6 q7
        row("building", "Bergen, Harbour House", True, 4, 1, 0.25, 1, 0.3333, 6, 1, 0.1667, everything),
        row("building", "Home", False, 1, 0, 0.0, 0, 0.0, 1, 0, 0.0, []),  # q4
        row("corporate network", None, True, 5, 1, 0.2, 1, 0.25, 8, 3, 0.375, everything),
        row("corporate network", None, False, 2, 0, 0.0, 0, 0.0, 3, 1, 0.3333, ["poor"]),  # q4 q5
    ]


def test_without_a_building_file_every_client_subnet_is_missing_and_nothing_is_placed(graph, cli_env, tmp_path):
    wipe(graph)
    run("load", "--quiet", write_calls(tmp_path / "calls.jsonl", CALLS))
    assert saved(graph, "poor-buildings") == []
    assert [(r["subnet"], r["streams"]) for r in saved(graph, "missing-subnets", minStreams=1)] == [
        ("10.51.5.0", 6), ("10.60.7.0", 6), ("10.51.4.0", 4), ("172.16.1.0", 4), ("192.168.1.0", 2)]
    assert query(graph, "MATCH (m:Media) RETURN m.callRecordId AS id, m.callerClient AS caller, "
                        "m.calleeClient AS callee ORDER BY id") == [
        {"id": f"q{i}", "caller": True, "callee": i != 5} for i in range(1, 8)]
