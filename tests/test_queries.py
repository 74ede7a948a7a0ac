"""Given a generated tenant loaded into Neo4j, each saved query finds what was planted.

The expected answers are computed here in plain Python from the generated Graph JSON, an
implementation independent of the Cypher under test.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from conftest import AS_OF, HTTP_PORT, REPO, query
from loader import demo as tenant
from loader.cli import main
from loader.errors import QueryError
from loader.store.load import load_records
from loader.store.places import replace_map
from loader.places.files import read_building_file
from loader.queries.browser import statement
from loader.queries.guide import guide_html
from loader.queries.saved import CYPHER_DIR, load_all, parse, run
from loader.ingest.files import Item
from loader.queries.summaries import summarize
from loader.ingest.transform import STREAM_PLAN, VERDICT_PLANS, convert
from loader.model import judge, modality_of

CALLS, SEED = 600, 3
SERVICE_ROLES = {"gateway", "mediationServer", "mediationServerCloudConnectorEdition",
                 "skypeForBusinessMicrosoftTeamsGateway"}


@pytest.fixture(scope="module")
def records():
    return list(tenant.generate(CALLS, seed=SEED, as_of=AS_OF))


@pytest.fixture(scope="module")
def loaded(_session_graph, records, tmp_path_factory):
    with _session_graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    buildings = tmp_path_factory.mktemp("demo") / "buildings.csv"  # the demo's map, as `callgraph demo` loads it
    buildings.write_text(tenant.BUILDING_FILE, encoding="utf-8")
    replace_map(_session_graph, read_building_file(str(buildings)))
    summary = load_records(_session_graph, (Item(f"gen:{i}", record=r) for i, r in enumerate(records)))
    assert summary.counts["loaded"] == CALLS
    return _session_graph


def test_the_demo_building_file_puts_the_planted_bad_building_on_top_and_lists_the_forgotten_subnet(loaded):
    buildings = saved(loaded, "poor-buildings")
    assert buildings[0]["building"] == tenant.BAD_BUILDING and buildings[0]["inside"] is True
    assert {r["building"] for r in buildings} == {tenant.BAD_BUILDING, "Seattle HQ, Building 2"}
    seattle = next(r for r in buildings if r["building"] == "Seattle HQ, Building 2")
    assert seattle["network"] == ["10.10.20.0/23", "10.20.1.0/24"]  # the supernet holds both wired floors
    missing = {r["subnet"]: r for r in saved(loaded, "missing-subnets")}
    assert tenant.UNMAPPED_SUBNET in missing and missing[tenant.UNMAPPED_SUBNET]["streams"] >= 10
    assert not {"10.10.20.0", "10.10.21.0", "10.20.1.0", "10.30.4.0", tenant.POOR_SUBNET} & set(missing)
    # no server's subnet is ever listed: only client ends are placed or missing
    assert not any(subnet.startswith("52.") or subnet.startswith("198.51.") for subnet in missing)
    lisbon = [r for r in saved(loaded, "reliability") if r["building"] == tenant.BAD_BUILDING]
    assert lisbon and "poor" in lisbon[0]["misses"]


def saved(graph, name, **params):
    q = load_all()[name]
    columns, rows = run(graph, q, q.bind({k: str(v) for k, v in params.items()}))
    return [dict(zip(columns, row)) for row in rows]


# --- the oracle: plain Python over the generated JSON ---------------------------------------

def party(endpoint: dict) -> tuple[str, str]:
    """(name, role) the way the saved queries name an endpoint appearance."""
    ua = endpoint.get("userAgent") or {}
    if "associatedIdentity" in endpoint:
        return endpoint["associatedIdentity"]["displayName"], "user"
    identity = endpoint.get("identity") or {}
    if "applicationInstance" in identity:
        return identity["applicationInstance"]["displayName"], ua.get("role", "applicationInstance")
    if "phone" in identity:
        return identity["phone"]["id"], "phone"
    return ua["headerValue"], ua["role"]


def user_id(endpoint: dict) -> str | None:
    return (endpoint.get("associatedIdentity") or {}).get("id")


def verdicts(session: dict, media: dict, rule: str = "cqd", modality: str = "audio") -> list[tuple[dict, bool]]:
    """(stream, poor) of each classified stream of a media line of ``modality``, by the model's rule
    table (the verdict function itself is checked against literal thresholds in test_quality)."""
    if modality_of(media.get("label"), session.get("modalities")) != modality:
        return []
    judged = [(st, judge(VERDICT_PLANS[rule], modality, convert(st, STREAM_PLAN, "", {}))[0])
              for st in media["streams"]]
    return [(st, quality == "poor") for st, quality in judged if quality != "unclassified"]


def segments(records):
    for r in records:
        for s in r["sessions"]:
            for g in s["segments"]:
                yield r, s, g


def iso(text: str) -> str:
    return datetime.fromisoformat(text).isoformat(timespec="microseconds").replace("+00:00", "") + "000+00:00"


# --- the planted answers -------------------------------------------------------------------

def shared_relays_oracle(records, min_calls: int = 2, rule: str = "cqd", modality: str = "audio") -> list[dict]:
    calls, users, streams = defaultdict(set), defaultdict(set), defaultdict(dict)
    for r, s, g in segments(records):
        for k, m in enumerate(g["media"]):
            for side in ("callerNetwork", "calleeNetwork"):
                relay = m[side].get("relayIPAddress")
                if relay:
                    calls[relay].add(r["id"])
                    users[relay].update(u for u in (user_id(g["caller"]), user_id(g["callee"])) if u)
                    for st, poor in verdicts(s, m, rule, modality):
                        streams[relay][(r["id"], s["id"], s["startDateTime"], g["startDateTime"], k, st["streamId"])] = poor
    expected = [{"relayIp": ip, "calls": len(calls[ip]), "users": len(users[ip]), "streams": len(streams[ip]),
                 "poorStreams": sum(streams[ip].values()),
                 "poorRatio": round(sum(streams[ip].values()) / len(streams[ip]), 3) if streams[ip] else 0.0}
                for ip in calls if len(calls[ip]) >= min_calls]
    expected.sort(key=lambda row: (-row["calls"], -row["poorRatio"], row["relayIp"]))
    return expected


def test_shared_relays_puts_the_bad_relay_first_with_its_exact_counts(loaded, records):
    rows = saved(loaded, "shared-relays")
    assert rows == shared_relays_oracle(records)
    assert rows[0]["relayIp"] == tenant.BAD_RELAY
    assert rows[0]["poorRatio"] > 0.6 > max(row["poorRatio"] for row in rows[1:])


def test_a_window_keeps_the_calls_that_started_in_it(loaded, records):
    """since/until: the startDateTime index finds the window's calls (the other branch of the query)."""
    first = tenant.window_start(AS_OF)
    since, until = first + timedelta(days=2), first + timedelta(days=3)
    inside = [r for r in records if since <= datetime.fromisoformat(r["startDateTime"]) < until]
    assert 0 < len(inside) < len(records)
    rows = saved(loaded, "shared-relays", since=since.isoformat(), until=until.isoformat())
    assert rows == shared_relays_oracle(inside)


@pytest.mark.parametrize("name", sorted(q.name for q in load_all().values()
                                        if {"since", "until"} <= {p.name for p in q.params} and not any(
                                            p.required for p in q.params)))
def test_a_window_holding_every_call_changes_nothing(loaded, records, name):
    starts = sorted(datetime.fromisoformat(r["startDateTime"]) for r in records)
    window = {"since": starts[0].isoformat(), "until": (starts[-1] + timedelta(seconds=1)).isoformat()}
    assert saved(loaded, name, **window) == saved(loaded, name)


SUMMARIZED = sorted(q.name for q in load_all().values() if q.summary is not None)


@pytest.fixture
def summarized(loaded):
    """The module's tenant with its summaries built (`callgraph summarize`); dropped afterwards."""
    counts = summarize(loaded)
    yield counts
    query(loaded, "MATCH (n:Summaries|SummaryRow) DETACH DELETE n")


def test_every_aggregate_is_summarized():
    assert SUMMARIZED == ["client-versions", "failures", "gateway-health", "missing-subnets", "poor-buildings",
                          "poor-subnets", "relay-timeline", "shared-relays", "who-calls-whom"]


@pytest.mark.parametrize("name", SUMMARIZED)
def test_a_summarized_query_answers_as_the_calls_do(loaded, summarized, name):
    q = load_all()[name]
    every_row = {k: str(v) for k, v in q.summary.items()}
    assert summarized[name] == len(saved(loaded, name, fresh="true", limit=10**9, **every_row)) > 0
    takes = {p.name for p in q.params}
    for params in ({}, {"limit": 3}, {"limit": 10**9}, {"minStreams": 40}, {"minCalls": 30},
                   {"relayIp": tenant.BAD_RELAY}):
        if set(params) <= takes:
            assert saved(loaded, name, **params) == saved(loaded, name, fresh="true", **params), params
    # the (query, rank) index finds the rows, so their number, which grows with the calls for
    # who-calls-whom, does not weigh on the other queries
    with loaded.session() as session:
        plan = session.run("PROFILE " + q.text, q.bind({})).consume().profile
    assert not [op for op in _operators(plan) if "SummaryRow" in op and "Scan" in op]


def _operators(plan: dict) -> list[str]:
    return [plan["operatorType"] + " " + plan.get("args", {}).get("Details", "")] + [
        op for child in plan.get("children", []) for op in _operators(child)]


def test_summaries_answer_until_a_load_writes_call_records(loaded, summarized, records, cli_env, tmp_path):
    assert saved(loaded, "shared-relays") == shared_relays_oracle(records)
    # the kept rows are what a run without a window reads: alter one and the query shows it
    query(loaded, "MATCH (s:SummaryRow {query: 'shared-relays', rank: 1}) SET s.users = -1")
    assert saved(loaded, "shared-relays")[0]["users"] == -1
    result = CliRunner().invoke(main, ["query", "shared-relays", "-p", "limit=1"])
    assert result.exit_code == 0 and "1 row, from the summaries of " in result.output
    assert "(600 call records); -p fresh=true reads the calls" in result.output
    # fresh=true, or a window, reads the calls
    assert saved(loaded, "shared-relays", fresh="true") == shared_relays_oracle(records)
    assert saved(loaded, "shared-relays", since="2000-01-01")[0]["users"] > 0

    # a load that writes (here: the same record again) makes them stale, and says so
    again = tmp_path / "again.json"
    again.write_text(json.dumps(records[0]))
    result = CliRunner().invoke(main, ["load", "--quiet", str(again)])
    assert result.exit_code == 0 and "The summaries are out of date now" in result.output
    assert saved(loaded, "shared-relays") == shared_relays_oracle(records)
    result = CliRunner().invoke(main, ["query", "shared-relays", "-p", "limit=1"])
    assert "from the calls: a load has written call records since the summaries were built" in result.output

    # load --summarize builds them again, one line per query
    result = CliRunner().invoke(main, ["load", "--quiet", "--summarize", str(again)])
    assert result.exit_code == 0, result.output
    assert f"  who-calls-whom: {summarized['who-calls-whom']:,} rows in " in result.output
    assert "summarized 9 saved queries in " in result.output
    assert query(loaded, "MATCH (s:Summaries) RETURN s.builtFor = s.dataVersion AS current, "
                         "s.callRecords AS calls") == [{"current": True, "calls": 600}]
    assert saved(loaded, "shared-relays") == shared_relays_oracle(records)


def test_pstn_paths_lists_every_multi_segment_pstn_session_with_hops_in_time_order(loaded, records):
    expected = []
    for r in records:
        for s in r["sessions"]:
            roles = {party(g[end])[1] for g in s["segments"] for end in ("caller", "callee")}
            if len(s["segments"]) < 2 or not (roles & SERVICE_ROLES or "phone" in {party(s["caller"])[1], party(s["callee"])[1]}):
                continue
            hops = [{"from": party(g["caller"])[0], "fromRole": party(g["caller"])[1],
                     "to": party(g["callee"])[0], "toRole": party(g["callee"])[1],
                     "start": iso(g["startDateTime"]), "failed": "failureInfo" in g}
                    for g in sorted(s["segments"], key=lambda g: g["startDateTime"])]
            expected.append({"callRecordId": r["id"], "start": iso(s["startDateTime"]),
                             "caller": party(s["caller"])[0], "callee": party(s["callee"])[0],
                             "segments": len(hops), "hops": hops, "failed": any(h["failed"] for h in hops)})
    rows = saved(loaded, "pstn-paths", limit=10_000)
    key = lambda row: (row["start"], row["callRecordId"], row["callee"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(expected, key=key)
    assert len(rows) > 100
    gateway_hop = next(h for row in rows for h in row["hops"] if h["toRole"] == "gateway")
    assert gateway_hop["fromRole"] == "mediationServer"
    # minSegments=3 (the README's example): the inbound calls a user transferred to a phone number
    three = saved(loaded, "pstn-paths", minSegments=3, limit=10_000)
    assert sorted(three, key=key) == sorted((row for row in expected if row["segments"] >= 3), key=key)
    assert len(three) == 8
    assert {tuple((h["fromRole"], h["toRole"]) for h in row["hops"]) for row in three} == {
        (("gateway", "mediationServer"), ("mediationServer", "user"), ("mediationServer", "gateway"))}


def test_call_path_follows_a_transferred_call_hop_by_hop(loaded, records):
    # the tenant's first call through the auto attendant and the call queue to an agent has a fixed id
    record = next(r for r in records if len(r["sessions"]) == 3 and r["sessions"][0]["id"] == r["sessions"][1]["id"])
    assert record["id"] == tenant.transfer_call_id(SEED) == "0de00000-0000-4000-8000-000000000003"
    rows = saved(loaded, "call-path", callRecordId=record["id"])
    assert [(row["session"], row["segment"], row["callerRole"], row["calleeRole"]) for row in rows] == [
        (0, 0, "gateway", "mediationServer"), (0, 1, "mediationServer", "skypeForBusinessAutoAttendant"),
        (1, 0, "gateway", "mediationServer"), (1, 1, "mediationServer", "skypeForBusinessCallQueues"),
        (2, 0, "gateway", "mediationServer"), (2, 1, "mediationServer", "user"),
    ]
    assert rows[0]["sessionId"] == rows[2]["sessionId"]  # Graph repeats the session id on the transfer
    assert rows[1]["callee"] == "Contoso Main Line" and rows[3]["callee"] == "Contoso Support Queue"
    agent = record["sessions"][2]["segments"][1]
    assert rows[5]["callee"] == agent["callee"]["associatedIdentity"]["displayName"]
    assert rows[5]["relays"] == sorted(filter(None, [agent["media"][0]["calleeNetwork"].get("relayIPAddress")]))
    assert rows[5]["poor"] == any(poor for _, poor in verdicts(record["sessions"][2], agent["media"][0]))


def test_gateway_health_puts_the_failing_sbc_first(loaded, records):
    failing_ua = tenant.SBCS[tenant.FAILING_SBC][0]
    failed = {(r["id"], s["startDateTime"], g["startDateTime"]) for r, s, g in segments(records)
              if "failureInfo" in g and failing_ua in (party(g["caller"])[0], party(g["callee"])[0])}
    rows = saved(loaded, "gateway-health")
    assert [row["gateway"] for row in rows][0] == failing_ua
    assert rows[0]["failedSegments"] == rows[0]["setupFailures"] == len(failed)
    assert rows[0]["failureRate"] > 0.2 > rows[1]["failureRate"]
    assert tenant.SBCS[tenant.FAILING_SBC][1] in rows[0]["ips"]


def poor_subnets_oracle(records, rule: str = "cqd", modality: str = "audio") -> dict:
    """(subnet, connection type) -> (call record ids, [poor, ...]) of the classified streams of
    ``modality`` sent from it."""
    sent = defaultdict(lambda: (set(), []))
    for r, s, g in segments(records):
        for m in g["media"]:
            for st, poor in verdicts(s, m, rule, modality):
                side = m["callerNetwork"] if st["streamDirection"] == "callerToCallee" else m["calleeNetwork"]
                calls, poors = sent[(side["subnet"], side["connectionType"])]
                calls.add(r["id"])
                poors.append(poor)
    return sent


def poor_subnets_rows(records, rule: str = "cqd", modality: str = "audio", min_streams: int = 10) -> list[dict]:
    """poor-subnets' whole answer, by the oracle."""
    rows = [{"subnet": subnet, "connectionType": kind, "calls": len(calls), "streams": len(poor),
             "poorStreams": sum(poor), "poorRatio": round(sum(poor) / len(poor), 3)}
            for (subnet, kind), (calls, poor) in poor_subnets_oracle(records, rule, modality).items()
            if len(poor) >= min_streams]
    return sorted(rows, key=lambda row: (-row["poorRatio"], -row["streams"], row["subnet"], row["connectionType"]))


def test_poor_subnets_finds_the_poor_wifi_subnet(loaded, records):
    rows = saved(loaded, "poor-subnets")
    assert rows == poor_subnets_rows(records)
    top = rows[0]
    assert (top["subnet"], top["connectionType"]) == (tenant.POOR_SUBNET, "wifi")


def test_failures_group_by_stage_reason_and_roles(loaded, records):
    count = defaultdict(set)
    for r, s, g in segments(records):
        if "failureInfo" in g:
            f = g["failureInfo"]
            count[(f["stage"], f["reason"], party(g["caller"])[1], party(g["callee"])[1])].add(r["id"])
    rows = saved(loaded, "failures")
    assert {(row["stage"], row["reason"], row["callerRole"], row["calleeRole"]): row["calls"] for row in rows} == \
        {key: len(ids) for key, ids in count.items()}


def test_user_calls_and_who_calls_whom(loaded, records):
    user = records[0]["participants_v2"][0]["identity"]["user"]
    mine = {r["id"] for r in records for s in r["sessions"]
            if user["id"] in (user_id(s["caller"]), user_id(s["callee"]))}
    rows = saved(loaded, "user-calls", user=user["userPrincipalName"], limit=1000)
    assert {row["callRecordId"] for row in rows} == mine
    assert [row["start"] for row in rows] == sorted((row["start"] for row in rows), reverse=True)

    pairs = defaultdict(int)
    for r in records:
        for s in r["sessions"]:
            a, b = party(s["caller"]), party(s["callee"])
            if "userAgent" not in s["caller"] or "associatedIdentity" in s["caller"] or "identity" in s["caller"]:
                if not (s["callee"].get("@odata.type", "").endswith("serviceEndpoint")
                        or s["caller"].get("@odata.type", "").endswith("serviceEndpoint")):
                    pairs[(a[0], b[0])] += 1
    rows = saved(loaded, "who-calls-whom", limit=100_000)
    assert {(row["caller"], row["callee"]): row["sessions"] for row in rows} == dict(pairs)
    # in order: most sessions, most minutes, then the names; a limit cuts that order anywhere,
    # also inside a run of pairs with the same figures
    order = [(-row["sessions"], -row["minutes"], row["caller"], row["callee"]) for row in rows]
    assert order == sorted(order)
    for limit in (1, 2, 5, 17):
        assert saved(loaded, "who-calls-whom", limit=limit) == rows[:limit]


def client_versions_oracle(records, rule: str = "cqd") -> dict:
    """client -> [poor, ...] of the classified audio streams every segment end with it sent."""
    sent = defaultdict(list)
    for r, s, g in segments(records):
        for side, direction in (("caller", "callerToCallee"), ("callee", "calleeToCaller")):
            ua = g[side].get("userAgent") or {}
            if ua.get("platform"):
                sent[(ua["platform"], ua["productFamily"], ua["headerValue"])] += [
                    poor for m in g["media"] for st, poor in verdicts(s, m, rule)
                    if st["streamDirection"] == direction]
    return sent


def test_client_versions_and_relay_timeline_add_up(loaded, records):
    # each client's audio: the streams every segment end with that user agent sent
    sent = client_versions_oracle(records)
    rows = saved(loaded, "client-versions", minStreams=1)
    assert {row["userAgent"] for row in rows} == {tenant_client[1] for tenant_client in tenant.CLIENTS}
    assert {(row["platform"], row["productFamily"], row["userAgent"]): (row["streams"], row["poorStreams"])
            for row in rows} == {client: (len(poor), sum(poor)) for client, poor in sent.items() if poor}

    timeline = saved(loaded, "relay-timeline", relayIp=tenant.BAD_RELAY)
    (relay,) = [row for row in saved(loaded, "shared-relays") if row["relayIp"] == tenant.BAD_RELAY]
    assert sum(row["streams"] for row in timeline) == relay["streams"]
    assert len(timeline) == 7  # one row per day of the generated week


# --- how they run ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.stem for p in CYPHER_DIR.glob("*.cypher")))
def test_each_file_runs_as_neo4j_browser_runs_it(loaded, records, name):
    """The file's text, after its header's :param lines evaluated as Browser evaluates them
    (a required one edited to a value of this tenant, as a user would)."""
    q = parse(CYPHER_DIR / f"{name}.cypher")
    assert ";" not in q.text  # Browser's multi-statement editor splits on it
    assert [n for n, _ in q.browser_params] == [p.name for p in q.params]
    params = {}
    with loaded.session() as session:
        for pname, expression in q.browser_params:
            params[pname] = session.run(f"RETURN {expression} AS v").single()["v"]
    for p in q.params:
        if not p.required:
            assert params[p.name] == p.default
    real = {"callRecordId": records[0]["id"],
            "user": records[0]["participants_v2"][0]["identity"]["user"]["userPrincipalName"]}
    params.update({p.name: real[p.name] for p in q.params if p.required})
    with loaded.session(read=True) as session:
        rows = session.execute_read(lambda tx: list(tx.run(q.text, params)))
    assert rows, f"{name} returned nothing on the demo tenant"


def test_a_saved_query_cannot_write(loaded, tmp_path):
    path = tmp_path / "sneaky.cypher"
    path.write_text("// name: sneaky\n// title: t\n// category: c\n// description: d\nCREATE (n:Sneaky) RETURN n\n")
    with pytest.raises(QueryError) as err:
        run(loaded, parse(path), {})
    assert str(err.value) == f"{path}: this saved query writes to the graph; saved queries only read"
    assert query(loaded, "MATCH (n:Sneaky) RETURN count(n) AS n") == [{"n": 0}]


def test_the_query_command_speaks_json_csv_and_clear_errors(loaded, cli_env, records):
    record = next(r for r in records if len(r["sessions"][0]["segments"]) == 2)
    runner = CliRunner()
    result = runner.invoke(main, ["query", "call-path", "-p", f"callRecordId={record['id']}", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["segment"] for row in rows] == [0, 1]
    assert rows[0]["start"] == iso(sorted(g["startDateTime"] for g in record["sessions"][0]["segments"])[0])

    result = runner.invoke(main, ["query", "shared-relays", "-p", "limit=1", "--format", "csv"])
    assert result.stdout.splitlines()[0] == "relayIp,calls,users,streams,poorStreams,poorRatio"
    assert result.stdout.splitlines()[1].startswith(tenant.BAD_RELAY + ",")

    result = runner.invoke(main, ["query", "call-path"])
    assert result.exit_code == 2
    assert "call-path: missing parameter callRecordId (string), e.g. -p callRecordId=" in result.output
    result = runner.invoke(main, ["query", "shared-relays", "-p", "minCals=3"])
    assert result.exit_code == 2 and "unknown parameter minCals" in result.output
    result = runner.invoke(main, ["query", "shared-relays", "-p", "since=yesterday"])
    assert result.exit_code == 2 and result.output.splitlines() == [
        "Error: shared-relays: parameter since: expected a time such as 2026-11-01, 2026-11-01T08:00:00Z or an "
        "age such as 30s, 15m, 6h, 7d, 2w; got 'yesterday'"]
    result = runner.invoke(main, ["query", "shared-relay"])
    assert result.exit_code == 2 and "Did you mean shared-relays?" in result.output


def test_datetime_parameters_take_an_age_in_any_unit_as_fetch_and_sync_do(loaded, cli_env):
    """-p since=30s ... 2w: that long before now, the same rows as the moment written out."""
    runner = CliRunner()

    def relays(since: str) -> list:
        result = runner.invoke(main, ["query", "shared-relays", "-p", f"since={since}", "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    weeks = (datetime.now(timezone.utc) - tenant.window_start(AS_OF)).days // 7 + 1  # back past the first call
    for age, span in [("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), ("6h", timedelta(hours=6)),
                      ("7d", timedelta(days=7)), (f"{weeks}w", timedelta(weeks=weeks))]:
        assert relays(age) == relays((datetime.now(timezone.utc) - span).isoformat()), age
    every = relays("2000-01-01")
    assert every and relays(f"{weeks}w") == every


def test_generate_is_the_same_for_the_same_seed_and_day(tmp_path):
    runner = CliRunner()
    for name in ("a.jsonl", "b.jsonl"):
        result = runner.invoke(main, ["generate", "--calls", "50", "--seed", "9", "--as-of", "2026-11-09",
                                      "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(records) == 50 and records[0]["sessions"]
    # the calls fill the week before --as-of and end before it
    assert min(r["startDateTime"] for r in records) >= "2026-11-02T00:00:00"
    assert max(r["endDateTime"] for r in records) < "2026-11-09T00:00:00"

    # without --as-of the week ends at the start of today (UTC): the same calls, moved to this week
    today = datetime.now(timezone.utc).date()
    assert runner.invoke(main, ["generate", "--calls", "50", "--seed", "9", "--out", str(tmp_path / "c.jsonl")]).exit_code == 0
    shift = today - AS_OF
    recent = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    moved = lambda text: (datetime.fromisoformat(text) + shift).isoformat()  # noqa: E731
    assert [moved(r["startDateTime"]) for r in records] == [datetime.fromisoformat(r["startDateTime"]).isoformat()
                                                             for r in recent]
    assert max(r["endDateTime"] for r in recent) < today.isoformat()

    result = runner.invoke(main, ["generate", "--as-of", "9 Nov", "--out", str(tmp_path / "d.jsonl")])
    assert result.exit_code == 2 and "--as-of: expected a time such as 2026-11-01" in result.output


def test_browser_links_carry_one_statement_with_the_values_in_place(loaded):
    result = CliRunner().invoke(main, ["browser", "--uri", "neo4j://127.0.0.1:7687"])
    assert result.exit_code == 0
    assert "shared-relays: Media relays shared by calls" in result.output
    assert "connectURL=neo4j%3A%2F%2Fneo4j%40127.0.0.1%3A7687&db=neo4j&cmd=edit&arg=" in result.output
    text = statement(load_all()["shared-relays"])
    assert "WHERE calls >= (2 /*minCalls*/)" in text and "LIMIT (100 /*limit*/)" in text and "$" not in text
    assert text.splitlines()[1].startswith("// values: minCalls = 2, modality = 'audio', since = null, until = null, limit = 100, "
                                           "fresh = false")
    with loaded.session(read=True) as session:  # as Browser runs it: the text alone, no parameters
        rows = session.execute_read(lambda tx: tx.run(text).data())
    assert rows[0]["relayIp"] == tenant.BAD_RELAY


# --- the rule in force -----------------------------------------------------------------------

def stream_counts(records, rule: str) -> Counter:
    """quality -> how many of the tenant's streams (every modality) get it by ``rule``."""
    return Counter(judge(VERDICT_PLANS[rule], modality_of(m.get("label"), s.get("modalities")),
                         convert(st, STREAM_PLAN, "", {}))[0]
                   for r, s, g in segments(records) for m in g["media"] for st in m["streams"])


def test_classify_cqd_legacy_changes_the_demo_numbers_as_the_old_rule_computes_them(loaded, records, cli_env):
    """The demo judged by cqd, then by cqd-legacy, then by cqd again: shared-relays and poor-subnets
    answer as the oracles do under each rule, for audio and video, and the audio numbers differ."""
    def answers() -> dict:
        return {(name, modality): saved(loaded, name, modality=modality)
                for name in ("shared-relays", "poor-subnets") for modality in ("audio", "video", "vbss")}

    def oracles(rule: str) -> dict:
        return {**{("shared-relays", m): shared_relays_oracle(records, rule=rule, modality=m)
                   for m in ("audio", "video", "vbss")},
                **{("poor-subnets", m): poor_subnets_rows(records, rule=rule, modality=m)
                   for m in ("audio", "video", "vbss")}}

    def classify(rule: str) -> str:
        result = CliRunner().invoke(main, ["classify", "--quiet", "--rule", rule])
        assert result.exit_code == 0, result.output
        return result.output

    cqd, legacy = oracles("cqd"), oracles("cqd-legacy")
    assert answers() == cqd
    try:
        output = classify("cqd-legacy")
        counts, streams = stream_counts(records, "cqd-legacy"), sum(stream_counts(records, "cqd").values())
        assert f"classified {streams:,} streams of {CALLS} call records by rule cqd-legacy in " in output
        assert (f"{counts['poor']:,} poor, {counts['good']:,} good, {counts['unclassified']:,} unclassified "
                f"(poor {counts['poor'] / (counts['poor'] + counts['good']):.1%} of the classified)") in output
        assert answers() == legacy
        result = CliRunner().invoke(main, ["query", "shared-relays", "-p", "limit=1"])
        assert result.exit_code == 0 and "1 row" in result.output
        assert "; stream verdicts by rule cqd-legacy" in result.output
    finally:
        classify("cqd")
    assert answers() == cqd

    # what the old rule adds: the muted listeners (at most 500 packets) and degradation or
    # concealment alone; every demo audio stream is classified by both, so only poor moves
    for name, key in (("shared-relays", "relayIp"), ("poor-subnets", "subnet")):
        streams = lambda rows: {row[key]: row["streams"] for row in rows}  # noqa: E731
        assert streams(legacy[(name, "audio")]) == streams(cqd[(name, "audio")])
        assert sum(row["poorStreams"] for row in legacy[(name, "audio")]) > \
            sum(row["poorStreams"] for row in cqd[(name, "audio")])
        assert legacy[(name, "video")] == cqd[(name, "video")] and legacy[(name, "vbss")] == cqd[(name, "vbss")]
    bad_cqd, bad_legacy = cqd[("shared-relays", "audio")][0], legacy[("shared-relays", "audio")][0]
    assert bad_cqd["relayIp"] == bad_legacy["relayIp"] == tenant.BAD_RELAY
    assert bad_legacy["poorStreams"] > bad_cqd["poorStreams"]
    assert cqd[("shared-relays", "video")][0]["relayIp"] == tenant.BAD_RELAY  # video is poor there too


def test_favorites_and_the_aura_csv_carry_every_saved_query_by_category(loaded, tmp_path):
    import csv
    import zipfile
    runner = CliRunner()
    zip_path, csv_path = tmp_path / "callgraph.zip", tmp_path / "callgraph.csv"
    result = runner.invoke(main, ["browser", "--favorites", str(zip_path), "--aura-csv", str(csv_path)])
    assert result.exit_code == 0, result.output
    queries = load_all()
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(f"{q.category}/{q.name}.cypher" for q in queries.values())
        relays = archive.read("network/shared-relays.cypher").decode()
    assert relays == statement(queries["shared-relays"])
    with loaded.session(read=True) as session:  # a favorite runs as it is: no parameters
        assert session.execute_read(lambda tx: tx.run(relays).data())[0]["relayIp"] == tenant.BAD_RELAY
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    folders = {r["id"]: r["name"] for r in rows if r["isFolder"] == "true"}
    assert sorted(folders.values()) == sorted({q.category for q in queries.values()} | {"callgraph"})
    saved_rows = {r["name"]: r for r in rows if r["isFolder"] == "false"}
    assert set(saved_rows) == set(queries)
    assert folders[saved_rows["shared-relays"]["parentId"]] == "network"
    assert saved_rows["shared-relays"]["query"] == relays


def test_the_aura_csv_has_the_layout_of_a_file_aura_exported(tmp_path):
    """The layout of a CSV exported from Aura's Saved Cypher drawer (the only one published:
    nrouyer/assemblylineplanning, cypher/assemblyline_cypher.csv): whole-number ids, folders
    nested by parentId, true/false."""
    import csv
    path = tmp_path / "callgraph.csv"
    result = CliRunner().invoke(main, ["browser", "--aura-csv", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "name,description,query,id,parentId,isFolder"
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert rows[0] == ["callgraph", "", "", "0", "", "true"]
    assert [r[3] for r in rows] == [str(i) for i in range(len(rows))]
    by_id = {r[3]: r for r in rows}
    network = [r for r in rows if r[0] == "network"]
    assert network == [["network", "", "", network[0][3], "0", "true"]]
    relays = load_all()["shared-relays"]
    row = next(r for r in rows if r[0] == "shared-relays")
    assert row[:3] == ["shared-relays", "Media relays shared by calls, busiest and worst first. " + relays.description,
                       statement(relays)]
    assert (row[4], row[5]) == (network[0][3], "false")
    assert all(by_id[r[4]][5] == "true" for r in rows[1:])  # every parent is a folder
    assert {by_id[r[4]][0] for r in rows if r[5] == "false"} == {q.category for q in load_all().values()}


def _slides(guide: str) -> list[tuple[str, list[str], list[str]]]:
    """Each slide's heading, the names of its saved queries, and its runnable blocks (as text)."""
    return [(html.unescape(re.search(r"<h3>(.*?)</h3>", slide).group(1)),
             re.findall(r"<small>([\w-]+) · ", slide),
             [html.unescape(block) for block in re.findall(r'<pre class="runnable"[^>]*>(.*?)</pre>', slide, re.S)])
            for slide in re.findall(r"<slide\b.*?</slide>", guide, re.S)]


def test_the_guide_shows_every_saved_query_in_the_order_an_investigation_goes(loaded, tmp_path):
    path = tmp_path / "guide.html"
    result = CliRunner().invoke(main, ["browser", "--guide", str(path)])
    assert result.exit_code == 0, result.output
    queries = load_all()
    slides = _slides(path.read_text(encoding="utf-8"))
    assert [(heading, names) for heading, names, _ in slides] == [
        ("Investigating Teams calls with callgraph", []),
        ("1. Where is it bad?", ["reliability", "poor-buildings", "poor-subnets", "client-versions", "failures",
                                 "missing-subnets"]),
        ("2. Which relay, building, gateway?", ["shared-relays", "relay-timeline", "building-pairs", "gateway-health"]),
        ("3. Which calls?", ["pstn-paths", "user-calls", "who-calls-whom"]),
        ("4. One call's path", ["call-path"]),
    ]
    assert sorted(n for _, names, _ in slides for n in names) == sorted(queries)
    # each block is the query's Browser statement (values in place, named): it runs as it is
    assert all(blocks == [statement(queries[n]) for n in names] for _, names, blocks in slides)
    relays = slides[2][2][0]
    with loaded.session(read=True) as session:
        assert session.execute_read(lambda tx: tx.run(relays).data())[0]["relayIp"] == tenant.BAD_RELAY
    # what each answers and takes, from the headers
    text = path.read_text(encoding="utf-8")
    assert f"<p>{html.escape(queries['call-path'].description)}</p>" in text
    assert "<li><code>callRecordId (string, required)</code>: the call record&#x27;s id</li>" in text


def test_a_saved_query_no_step_names_comes_last_in_the_guide(tmp_path, monkeypatch):
    for path in (REPO / "cypher").glob("*.cypher"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    mine = (REPO / "cypher" / "failures.cypher").read_text(encoding="utf-8")
    (tmp_path / "my-failures.cypher").write_text(mine.replace("// name: failures", "// name: my-failures"),
                                                 encoding="utf-8")
    monkeypatch.setenv("CALLGRAPH_CYPHER_DIR", str(tmp_path))
    slides = _slides(guide_html())
    assert slides[-1][:2] == ("5. More saved queries", ["my-failures"])


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the guide is served by the server scripts/neo4j starts")
def test_the_local_server_serves_the_guide_with_browser(neo4j_server):
    import httpx
    guide = httpx.get(f"http://127.0.0.1:{HTTP_PORT}/browser/callgraph-guide.html", timeout=30)
    assert guide.status_code == 200 and guide.text == guide_html()
    assert httpx.get(f"http://127.0.0.1:{HTTP_PORT}/browser/", timeout=30).status_code == 200
