"""Given Graph call records, `callgraph load` puts this graph into a real Neo4j."""

import gzip
import json
import shutil
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from conftest import AS_OF, FIXTURES, fixture_path, query, snapshot
from fake_graph import direct_routing_row, make_record, user
from loader.cli import main

RID = "e523d2ed-2966-4b6b-925b-754a88034cc5"
LEGACY = fixture_path("v1.0-get-callrecord-expanded-legacy-2021.json")
CALL_RECORD_EXAMPLES = [  # every example whose body is call records (the rest: PSTN rows, sessions pages, ...)
    f"{version}-{name}.json"
    for version in ("v1.0", "beta")
    for name in ("get-callrecord", "get-callrecord-expanded", "get-callrecord-expanded-participants_v2",
                 "list-callrecords", "list-callrecords-filter-startdatetime", "list-callrecords-filter-participant")
] + ["v1.0-get-callrecord-legacy-2021.json", "v1.0-get-callrecord-expanded-legacy-2021.json"]


def load(*args, input=None):
    result = CliRunner().invoke(main, ["load", "--quiet", *map(str, args)], input=input, catch_exceptions=False)
    return result.exit_code, result.output


def counts(graph) -> dict:
    nodes = {r["label"]: r["n"] for r in query(graph, "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n")}
    rels = {r["type"]: r["n"] for r in query(graph, "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n")}
    return {**nodes, **rels}


def test_every_call_record_example_from_the_docs_loads_without_rejects(graph, cli_env):
    assert len(CALL_RECORD_EXAMPLES) == 14
    for name in CALL_RECORD_EXAMPLES:
        code, output = load(fixture_path(name))
        assert code == 0, output
        assert "0 rejected" in output
    ids = {r["id"] for r in query(graph, "MATCH (c:CallRecord) RETURN c.id AS id")}
    assert ids == {RID, "3cf3bbc8-b21d-4f2e-bfd0-b13603ae6c65", "c3ad8c4b-4a87-4ab1-bef0-284d2f40ed9f"}


def test_the_whole_docs_folder_loads_and_says_what_it_skipped(graph, cli_env):
    code, output = load(FIXTURES)
    assert code == 0, output
    assert "0 rejected" in output
    assert "v1.0-list-sessions.json: 1 x a page of sessions" in output
    # the PSTN and Direct Routing examples load too: v1.0 and beta show the same two rows
    assert "4 PSTN and Direct Routing rows loaded; linked to call records: 0 by id, 0 by user and time window" in output
    rows = query(graph, "MATCH (r:PstnCall|DirectRoutingCall)-[:FOR_USER]->(u:Endpoint) "
                        "OPTIONAL MATCH (r)-[:VIA_SBC]->(s:Sbc) RETURN labels(r)[0] AS row, r.id AS id, "
                        "u.key AS user, s.fqdn AS sbc ORDER BY row")
    assert rows == [
        {"row": "DirectRoutingCall", "id": "9e8bba57-dc14-533a-a7dd-f0da6575eed1",
         "user": "user:db03c14b-06eb-4189-939b-7cbf3a20ba27", "sbc": "tll-audiocodes01.adatum.biz"},
        {"row": "PstnCall", "id": "9c4984c7-6c3c-427d-a30c-bd0b2eacee90",
         "user": "user:db03c14b-06eb-4189-939b-7cbf3a20ba27", "sbc": None}]
    # the same record came as a list item, with sessions, and with participants: all of it is there
    (row,) = query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.sessionCount AS s, c.participantCount AS p",
                   id=RID)
    assert row == {"s": 1, "p": 2}


def test_the_richest_example_in_detail(graph, cli_env):
    code, output = load(LEGACY)
    assert code == 0, output
    assert counts(graph) == {
        "CallRecord": 1, "Session": 1, "Segment": 1, "Media": 1, "Stream": 2, "Endpoint": 2, "Relay": 2,
        "CONTAINS": 4 + 1,  # record-session, session-segment, segment-media, media-2 streams
        "CALLER": 2, "CALLEE": 2, "ORGANIZED_BY": 1, "PARTICIPANT": 2, "USED_RELAY": 2,
    }
    (record,) = query(graph, "MATCH (c:CallRecord) RETURN c")
    c = record["c"]
    assert (c["id"], c["version"], c["type"], c["modalities"]) == (RID, 1, "peerToPeer", ["audio"])
    assert c["startDateTime"].iso_format() == "2020-02-25T18:52:21.216988900+00:00"
    assert c["tenantId"] == "dc368399-474c-4d40-900c-6265431fd81f"

    path = query(graph, """
        MATCH (c:CallRecord)-[:CONTAINS]->(s:Session)-[:CONTAINS]->(g:Segment)-[:CONTAINS]->(m:Media)
        MATCH (g)-[:CALLER]->(a:Endpoint), (g)-[:CALLEE]->(b:Endpoint)
        RETURN s.key AS session, g.key AS segment, m.key AS media, a.displayName AS caller, b.displayName AS callee,
               m.callerNetworkConnectionType AS callerNet, m.calleeNetworkLinkSpeed AS calleeLink""")
    assert path == [{"session": f"{RID}:0", "segment": f"{RID}:0:0", "media": f"{RID}:0:0:0",
                     "caller": "Abbie Wilkins", "callee": "Owen Franklin", "callerNet": "wifi",
                     "calleeLink": 4294967295}]

    relays = query(graph, """MATCH (g:Segment)-[u:USED_RELAY]->(r:Relay)
                             RETURN r.ip AS ip, u.side AS side, u.relayPort AS port ORDER BY side""")
    assert relays == [{"ip": "52.114.188.102", "side": "callee", "port": 52810},
                      {"ip": "52.114.188.32", "side": "caller", "port": 53889}]

    streams = query(graph, """MATCH (s:Stream) RETURN s.streamDirection AS dir, s.averageJitterMs AS jitter,
                              s.maxJitterMs AS maxJitter, s.averageRoundTripTimeMs AS rtt,
                              s.averageAudioDegradation AS degradation, s.modality AS modality, s.quality AS quality,
                              s.poorReasons AS reasons ORDER BY s.ordinal""")
    assert streams == [  # CQD's current rule: the second stream's degradation alone no longer makes it poor
        {"dir": "callerToCallee", "jitter": 16.0, "maxJitter": 21.0, "rtt": 61.0, "degradation": None,
         "modality": "audio", "quality": "good", "reasons": None},
        {"dir": "calleeToCaller", "jitter": 7.0, "maxJitter": 12.0, "rtt": 64.0, "degradation": 1.160898,
         "modality": "audio", "quality": "good", "reasons": None},
    ]
    (feedback,) = query(graph, "MATCH (:Session)-[r:CALLEE]->() RETURN r.feedbackRating AS rating, r.feedbackTokens AS tokens")
    assert feedback == {"rating": "poor", "tokens": ["Noisy"]}


def test_a_direct_routing_row_stays_linked_to_its_record_when_a_newer_version_replaces_it(graph, cli_env, tmp_path):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    v1, v2 = make_record(1, start), make_record(1, start, version=2)
    row = {"@odata.type": "#microsoft.graph.callRecords.directRoutingLogRow",
           **direct_routing_row(1, start + timedelta(seconds=5), user(1), row_id=v1["id"])}
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(json.dumps(v1) + "\n" + json.dumps(row) + "\n")
    second.write_text(json.dumps(v2) + "\n")

    code, output = load(first)
    assert code == 0 and "linked to call records: 1 by id" in output
    code, output = load(second)
    assert code == 0 and "1 replaced by a newer version" in output
    assert query(graph, "MATCH (d:DirectRoutingCall)-[p:PART_OF]->(c:CallRecord) "
                        "RETURN c.id AS record, c.version AS version, p.matchedBy AS by") == [
        {"record": v1["id"], "version": 2, "by": "id"}]
    assert counts(graph)["CallRecord"] == 1 and counts(graph)["Session"] == 1


def test_reloading_is_a_no_op(graph, cli_env):
    load(FIXTURES)
    before = snapshot(graph)
    code, output = load(FIXTURES)
    assert code == 0
    assert snapshot(graph) == before
    assert " 0 loaded, 0 replaced by a newer version, 0 completed" in output


def _record(tmp_path, name, **changes):
    record = json.loads(LEGACY.read_text())
    record.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(record))
    return path, record


def test_a_newer_version_replaces_the_subtree_and_an_older_one_is_skipped(graph, cli_env, tmp_path):
    v1, _ = _record(tmp_path, "v1.json")
    v2, record = _record(tmp_path, "v2.json", version=2, lastModifiedDateTime="2020-02-25T21:00:00Z")
    record["sessions"][0]["segments"][0]["media"][0]["callerNetwork"]["relayIPAddress"] = "52.114.1.1"
    record["sessions"][0]["segments"][0]["media"][0]["streams"].pop()
    v2.write_text(json.dumps(record))

    load(v1)
    code, output = load(v2)
    assert code == 0 and "1 replaced by a newer version" in output
    assert query(graph, "MATCH (c:CallRecord) RETURN c.version AS v") == [{"v": 2}]
    assert counts(graph)["Stream"] == 1
    # the relay only the old version used is gone; the one both used stays
    assert sorted(r["ip"] for r in query(graph, "MATCH (r:Relay) RETURN r.ip AS ip")) == ["52.114.1.1", "52.114.188.102"]

    before = snapshot(graph)
    code, output = load(v1)
    assert code == 0 and "1 skipped as older" in output
    assert snapshot(graph) == before

    # an older version naming a relay nobody else used leaves no trace of it either
    old = json.loads(v1.read_text())
    old["sessions"][0]["segments"][0]["media"][0]["callerNetwork"]["relayIPAddress"] = "52.114.9.9"
    v1.write_text(json.dumps(old))
    code, output = load(v1)
    assert code == 0 and "1 skipped as older" in output
    assert snapshot(graph) == before


def test_the_record_keeps_its_organizers_tenant_whatever_tenant_is_signed_in(graph, cli_env, monkeypatch):
    # AZURE_TENANT_ID is exported for fetch and sync to sign in with; load ignores it, so records
    # of another tenant (here Microsoft's example, organized in dc368399-...) keep their own
    monkeypatch.setenv("AZURE_TENANT_ID", "11111111-2222-3333-4444-555555555555")
    code, output = load(LEGACY)
    assert code == 0, output
    assert query(graph, "MATCH (c:CallRecord) RETURN c.tenantId AS t") == [{"t": "dc368399-474c-4d40-900c-6265431fd81f"}]
    # --tenant-id is what overrides it, for records that carry none or a wrong one
    record = json.loads(LEGACY.read_text())
    record["version"] += 1
    code, output = load("--tenant-id", "99999999-0000-0000-0000-000000000009", "-", input=json.dumps(record))
    assert code == 0, output
    assert query(graph, "MATCH (c:CallRecord) RETURN c.tenantId AS t") == [{"t": "99999999-0000-0000-0000-000000000009"}]


def test_gzip_json_lines_and_stdin(graph, cli_env, tmp_path):
    record = json.loads(LEGACY.read_text())
    lines = []
    for i in range(3):
        record["id"] = f"00000000-0000-0000-0000-00000000000{i}"
        lines.append(json.dumps(record))
    with gzip.open(tmp_path / "calls.jsonl.gz", "wt") as f:
        f.write("\n".join(lines) + "\n")
    code, output = load(tmp_path / "calls.jsonl.gz")
    assert code == 0 and "3 loaded" in output
    code, output = load("-", input=fixture_path("v1.0-list-callrecords.json").read_text())
    assert code == 0 and "2 loaded" in output
    assert counts(graph)["CallRecord"] == 5


def test_concurrent_writers_give_the_graph_one_writer_gives(graph, cli_env, tmp_path):
    # 60 generated calls, one of which arrives three times: version 1 first, then 3, then 2
    from loader.demo import generate

    records = list(generate(60, seed=7, as_of=AS_OF))
    again = records[0]
    versions = [dict(again, version=v, lastModifiedDateTime=f"2026-11-20T0{v}:00:00Z") for v in (1, 3, 2)]
    lines = [versions[0]] + records[1:30] + [versions[1]] + records[30:] + [versions[2]]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))

    code, one_writer = load(path, "--batch-size", "1", "--writers", "1")
    assert code == 0
    expected = snapshot(graph)
    query(graph, "MATCH (n) DETACH DELETE n")
    code, four_writers = load(path, "--batch-size", "1", "--writers", "4")
    assert code == 0
    assert snapshot(graph) == expected
    assert query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.version AS v", id=again["id"]) == [{"v": 3}]
    for output in (one_writer, four_writers):
        assert "60 loaded, 1 replaced by a newer version, 0 completed, 0 unchanged, 1 skipped as older" in output


def test_the_element_count_of_the_progress_line_is_what_the_graph_holds(graph):
    # 40 generated calls into an empty database, in batches of 7 over 3 writers: the count
    # behind "N graph elements written" is every node and relationship the graph then holds
    from loader.demo import generate
    from loader.store.load import load_records
    from loader.ingest.files import Item

    items = [Item(origin=f"calls.jsonl:{n}", record=r, kind="callRecord") for n, r in enumerate(generate(40, seed=3, as_of=AS_OF))]
    summary = load_records(graph, items, batch_size=7, writers=3)
    assert summary.counts["loaded"] == 40
    (row,) = query(graph, "MATCH (n) WITH count(n) AS nodes MATCH ()-[r]->() WITH nodes, count(r) AS rels "
                          "RETURN nodes + rels AS elements")
    assert summary.elements == row["elements"]


def test_members_the_model_does_not_know_are_kept_on_every_level(graph, cli_env, tmp_path):
    # Graph adds members over time; they load under their own names, wherever they appear, in
    # the same batch as records without any
    record = json.loads(LEGACY.read_text())
    record["isTest"] = False
    session = record["sessions"][0]
    session["spatialAudio"] = True
    segment = session["segments"][0]
    segment["caller"]["holographic"] = "yes"
    segment["media"][0]["streams"][0]["newMetric"] = 5
    plain = json.loads(LEGACY.read_text())
    plain["id"] = "ffffffff-0000-0000-0000-000000000001"
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(plain) + "\n" + json.dumps(record) + "\n")
    code, output = load(calls)
    assert code == 0, output
    (row,) = query(graph, """
        MATCH (c:CallRecord {id: $id})-[:CONTAINS]->(s:Session {ordinal: 0})-[:CONTAINS]->(g:Segment {ordinal: 0})
        MATCH (g)-[caller:CALLER]->() MATCH (g)-[:CONTAINS]->(:Media {ordinal: 0})-[:CONTAINS]->(t:Stream {ordinal: 0})
        RETURN c.isTest AS isTest, s.spatialAudio AS spatialAudio, caller.holographic AS holographic,
               t.newMetric AS newMetric, t.startDateTime IS NULL OR t.startDateTime.year > 0 AS streamStart,
               s.startDateTime.year AS sessionYear""", id=record["id"])
    assert row == {"isTest": False, "spatialAudio": True, "holographic": "yes", "newMetric": 5, "streamStart": True,
                   "sessionYear": 2020}
    streams = query(graph, "MATCH (c:CallRecord)-[:CONTAINS*4]->(t:Stream) RETURN c.id AS id, count(t) AS streams, "
                           "collect(t.newMetric) AS newMetric, c.isTest AS isTest ORDER BY id")
    assert [(r["id"], r["newMetric"], r["isTest"]) for r in streams] == [(record["id"], [5], False), (plain["id"], [], None)]
    assert streams[0]["streams"] == streams[1]["streams"] > 0
