"""`callgraph sync`: from a fake Graph on 127.0.0.1 straight into a real Neo4j.

The user's story: the first sync loads a window, later syncs continue from the watermark
and load only what is new or re-issued, records not made yet are kept as pending until a
later sync gets them, and with --pstn the PSTN and Direct Routing logs join the graph.
"""

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from conftest import query, snapshot
from fake_graph import (SECRET, direct_routing_row, graph_service, make_record,  # noqa: F401 (fixture)
                        make_records, pstn_row, user)
from loader.cli import main

NOW = datetime.now(timezone.utc)
FAST = ["--backoff", "0.05", "--not-found-retries", "0.1,0.2", "--quiet"]


def sync(*args):
    result = CliRunner().invoke(main, ["sync", *map(str, args), *FAST], catch_exceptions=False)
    assert SECRET not in result.stdout + result.stderr
    return result.exit_code, result.stderr


def record_gets(fake) -> list:
    return [h for h in fake.api_hits("/communications/callRecords/") if "/get" not in h.path]


def test_a_first_sync_loads_the_window_and_a_rerun_loads_nothing_new(graph_service, graph, cli_env):
    records = make_records(70, NOW - timedelta(hours=20), every=timedelta(minutes=10))
    fake = graph_service(records=records)

    began = datetime.now(timezone.utc)
    code, stderr = sync("--since", "1d")
    assert code == 0, stderr
    assert "70 listed, 0 already stored, 70 fetched" in stderr and "70 loaded" in stderr
    (state,) = query(graph, "MATCH (s:SyncState) RETURN s.tenantId AS tenant, s.watermark AS watermark, "
                            "s.pendingIds AS pending")
    assert state["tenant"] == "11111111-2222-3333-4444-555555555555" and state["pending"] == []
    assert began <= state["watermark"].to_native() <= datetime.now(timezone.utc)  # listed up to the run's start
    assert query(graph, "MATCH (c:CallRecord) RETURN count(c) AS n, collect(DISTINCT c.tenantId) AS t") == [
        {"n": 70, "t": ["11111111-2222-3333-4444-555555555555"]}]
    before, gets = snapshot(graph), len(record_gets(fake))

    code, stderr = sync("--overlap", "1d")  # from the watermark, listing the last day again
    assert code == 0, stderr
    assert "(from the watermark)" in stderr
    assert "70 listed, 70 already stored, 0 fetched" in stderr and "0 records read" in stderr
    assert len(record_gets(fake)) == gets  # listed only: nothing fetched again
    assert _same_but_state(before, snapshot(graph))

    # Graph re-issues one record with more data and a new call appears: exactly those load
    reissued = make_record(3, NOW - timedelta(hours=20) + timedelta(minutes=30), sessions=2, version=2)
    fake.records[3] = fake.by_id[reissued["id"]] = reissued
    new = make_record(500, NOW - timedelta(minutes=30))
    fake.records.append(new)
    fake.by_id[new["id"]] = new
    code, stderr = sync("--overlap", "1d", "--summarize")
    assert code == 0, stderr
    assert "2 fetched" in stderr and "1 loaded, 1 replaced by a newer version" in stderr
    assert query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.version AS v, c.sessionCount AS s",
                 id=reissued["id"]) == [{"v": 2, "s": 2}]
    assert "summarized 9 saved queries" in stderr  # --summarize: after the load

    code, stderr = sync("--overlap", "1d")  # nothing new to load: the summaries stay current
    assert code == 0 and "0 fetched" in stderr and "out of date" not in stderr
    assert query(graph, "MATCH (s:Summaries) RETURN s.builtFor = s.dataVersion AS current, s.callRecords AS n") == [
        {"current": True, "n": 71}]


def _same_but_state(before, after) -> bool:
    strip = lambda snap: [n for n in snap[0] if "SyncState" not in n]  # noqa: E731
    return strip(before) == strip(after) and before[1] == after[1]


def test_records_not_made_yet_stay_pending_until_a_later_sync_gets_them(graph_service, graph, cli_env):
    done = make_record(1, NOW - timedelta(hours=2))
    fresh = make_record(2, NOW - timedelta(minutes=20))  # ended 15 min ago: Graph may still be writing it
    fake = graph_service(records=[done, fresh], faults={fresh["id"]: ["404"] * 3})

    code, stderr = sync("--since", "3h")
    assert code == 1
    assert f"pending: {fresh['id']}: 404 after 3 tries" in stderr
    assert query(graph, "MATCH (s:SyncState) RETURN s.pendingIds AS p") == [{"p": [fresh["id"]]}]
    assert query(graph, "MATCH (c:CallRecord) RETURN c.id AS id") == [{"id": done["id"]}]

    code, stderr = sync()  # Graph has it now
    assert code == 0, stderr
    assert query(graph, "MATCH (s:SyncState) RETURN s.pendingIds AS p") == [{"p": []}]
    assert sorted(r["id"] for r in query(graph, "MATCH (c:CallRecord) RETURN c.id AS id")) == \
        sorted([done["id"], fresh["id"]])
    assert len([h for h in fake.api_hits() if fresh["id"] in h.path and h.status == 404]) == 3


def test_pstn_and_direct_routing_rows_join_users_sbcs_and_records_where_the_evidence_allows(
        graph_service, graph, cli_env):
    start = NOW - timedelta(days=100)
    records = [make_record(0, NOW - timedelta(hours=5)),  # user 0 <-> user 1
               make_record(1, NOW - timedelta(hours=4)),  # user 1 <-> user 2
               make_record(40, NOW - timedelta(hours=3), minutes=30),  # user 0 <-> user 1, overlapping ...
               make_record(60, NOW - timedelta(hours=3) + timedelta(minutes=10), minutes=30)]  # ... with this one
    pstn = [pstn_row(1, records[0]),  # user 0, 5 s into record 0: one candidate
            pstn_row(2, at=NOW - timedelta(days=95), who=user(7)),  # nobody's record: stays unlinked
            pstn_row(3, at=NOW - timedelta(hours=3) + timedelta(minutes=15), who=user(0))]  # two candidates
    direct = [direct_routing_row(1, NOW - timedelta(hours=4), user(2), row_id=records[1]["id"]),  # the record's id
              direct_routing_row(2, NOW - timedelta(days=50), user(9), fqdn="SBC2.contoso.example")]
    fake = graph_service(records=records, pstn=pstn, direct_routing=direct)

    code, stderr = sync("--since", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--pstn")
    assert code == 0, stderr
    assert "PSTN: 3 getPstnCalls rows, 2 getDirectRoutingCalls rows; linked to call records: 1 by id, " \
           "1 by user and time window" in stderr
    # 100 days in chunks of at most 90, parameters unquoted as the docs show them
    calls = [h.path for h in fake.api_hits() if "/get" in h.path]
    assert len(calls) == 4 and all("'" not in c for c in calls)
    assert calls[0].endswith(f"getPstnCalls(fromDateTime={start:%Y-%m-%dT%H:%M:%SZ},"
                             f"toDateTime={start + timedelta(days=90):%Y-%m-%dT%H:%M:%SZ})")

    links = query(graph, "MATCH (r)-[p:PART_OF]->(c:CallRecord) RETURN labels(r)[0] AS row, r.id AS id, "
                         "c.id AS record, p.matchedBy AS matchedBy, p.startOffsetSeconds AS offset ORDER BY row")
    assert links == [
        {"row": "DirectRoutingCall", "id": records[1]["id"], "record": records[1]["id"], "matchedBy": "id",
         "offset": None},
        {"row": "PstnCall", "id": pstn[0]["id"], "record": records[0]["id"], "matchedBy": "userTimeWindow",
         "offset": 5}]
    assert query(graph, "MATCH (r:PstnCall)-[:FOR_USER]->(u:Endpoint) RETURN r.callId AS call, u.key AS user, "
                        "u.displayName AS name ORDER BY call") == [
        {"call": "1_1@61.221.3.176", "user": f"user:{user(0)['id']}", "name": "User 0"},
        {"call": "2_1@61.221.3.176", "user": f"user:{user(7)['id']}", "name": "User 7"},
        {"call": "3_1@61.221.3.176", "user": f"user:{user(0)['id']}", "name": "User 0"}]
    assert query(graph, "MATCH (d:DirectRoutingCall)-[:VIA_SBC]->(s:Sbc) RETURN s.fqdn AS sbc, "
                        "d.callerNumber AS caller, d.failureDateTime AS failed ORDER BY sbc") == [
        {"sbc": "sbc1.contoso.example", "caller": "+12345678***", "failed": None},
        {"sbc": "sbc2.contoso.example", "caller": "+12345678***", "failed": None}]

    before = snapshot(graph)
    code, stderr = sync("--since", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--pstn")
    assert code == 0, stderr
    assert "linked to call records: 0 by id, 0 by user and time window" in stderr
    assert _same_but_state(before, snapshot(graph))


def test_a_wrong_overlap_is_one_line_naming_the_option():
    code, stderr = sync("--overlap", "2026-11-01")
    assert code == 2
    assert stderr.splitlines() == ["Error: --overlap: expected a duration such as 30s, 15m, 6h, 7d, 2w; got '2026-11-01'"]
