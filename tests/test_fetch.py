"""`callgraph fetch` against a fake Graph on 127.0.0.1: real msal, real httpx, real TLS.

The user's story: point callgraph at the tenant (AZURE_* variables), fetch a window of
call records into a file, load the file later. Graph pages, throttles, drops connections,
expires tokens and answers 404 for records not made yet; every record still arrives
exactly once and complete, and the secret never shows.
"""

import gzip
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from pathlib import Path

from conftest import query
from fake_graph import (SECRET, FakeGraph, client_certificate, direct_routing_row, graph_service,  # noqa: F401
                        make_record, make_records, pfx_certificate, pstn_row, record_id, user)
from loader.cli import main

CALLGRAPH = str(Path(sys.executable).parent / "callgraph")
NOW = datetime.now(timezone.utc)
FAST = ["--backoff", "0.05", "--not-found-retries", "0.1,0.2,0.3", "--quiet"]


def callgraph(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def callgraph_process(*args):
    """The installed command in its own process: the fake server's clock then sees the client's
    requests as Graph would, without sharing an interpreter (and its GIL) with it."""
    result = subprocess.run([CALLGRAPH, *map(str, args)], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_window_arrives_complete_and_once_despite_throttling_drops_and_expiring_tokens(
        graph_service, tmp_path, graph, cli_env):
    records = make_records(90, NOW - timedelta(hours=20), every=timedelta(minutes=5), big={7: 150})
    fake = graph_service(records=records, token_uses=60, faults={
        record_id(3): ["429"], record_id(4): ["503", "503"], record_id(5): ["drop"], record_id(7): ["429"]},
        list_faults=["drop"])
    out = tmp_path / "calls.jsonl.gz"

    code, stdout, stderr = callgraph_process("fetch", "--since", "1d", "--out", out, *FAST,
                                     "--rate-limit", "tenant=80/1", "--rate-limit", "list=2/1",
                                     "--rate-limit", "record=3/1")

    assert code == 0, stderr
    assert "90 records written" in stderr and "0 failed, 0 pending" in stderr
    fetched = [json.loads(line) for line in gzip.open(out, "rt")]
    assert sorted(r["id"] for r in fetched) == sorted(r["id"] for r in records)  # each once
    by_id = {r["id"]: r for r in fetched}
    assert len(by_id[record_id(7)]["sessions"]) == 150  # 60 + 60 + 30 through sessions@odata.nextLink
    assert all("sessions@odata.nextLink" not in r for r in fetched)
    assert {len(r["participants_v2"]) for r in fetched} == {2}
    assert by_id[record_id(7)]["sessions"] == records[7]["sessions"]
    # on the wire: within every configured rate, the enum header on every request,
    # tokens renewed when they stopped working (and not for every request)
    assert fake.max_in_window("tenant", 1.0) <= 80
    assert fake.max_in_window("list", 1.0) <= 2
    assert fake.max_in_window("record", 1.0) <= 3
    assert all("include-unknown-enum-members" in h.prefer for h in fake.api_hits())
    assert 1 < len(fake.token_requests) <= len(fake.api_hits()) // 60 + 2
    assert [h.status for h in fake.api_hits() if h.status == 401] and "token refreshes" in stderr
    assert "2 throttled" in stderr
    # nothing secret anywhere
    assert SECRET not in stdout + stderr
    assert SECRET not in gzip.open(out, "rt").read()

    # ... and `callgraph load` loads the file later
    code, _, stderr = callgraph("load", "--quiet", out)
    assert code == 0, stderr
    assert "90 loaded" in stderr
    (row,) = query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.sessionCount AS sessions, "
                          "c.participantCount AS participants, c.sessionsIncomplete AS incomplete", id=record_id(7))
    assert row == {"sessions": 150, "participants": 2, "incomplete": None}


def test_records_not_made_yet_are_retried_on_a_schedule_then_reported_never_dropped(graph_service, tmp_path):
    late = make_record(1, NOW - timedelta(minutes=30))
    fake = graph_service(records=[late], faults={late["id"]: ["404", "404"]})
    out = tmp_path / "late.jsonl"
    missing = record_id(999)

    code, _, stderr = callgraph("fetch", "--id", late["id"], "--id", missing, "--out", out, *FAST)

    assert code == 1
    assert [r["id"] for r in read_jsonl(out)] == [late["id"]]  # the third try found it
    assert f"pending: {missing}: 404 after 4 tries" in stderr
    assert "1 fetched" in stderr and "1 pending" in stderr
    assert len([h for h in fake.api_hits() if missing in h.path]) == 4


def test_a_record_that_keeps_failing_is_reported_with_its_id_and_the_rest_arrive(graph_service, tmp_path):
    records = make_records(5, NOW - timedelta(hours=5))
    graph_service(records=records, faults={record_id(2): ["503"] * 10})
    out = tmp_path / "calls.jsonl"

    code, _, stderr = callgraph("fetch", "--since", "6h", "--out", out, "--max-attempts", "3", *FAST)

    assert code == 1
    assert sorted(r["id"] for r in read_jsonl(out)) == sorted(r["id"] for r in records if r["id"] != record_id(2))
    assert f"failed: {record_id(2)}: 503 Service Unavailable from /v1.0/communications/callRecords/{record_id(2)}, " \
           "3 attempts" in stderr


def test_since_takes_an_age_in_weeks_and_a_wrong_one_is_one_line(graph_service, tmp_path):
    records = [make_record(0, NOW - timedelta(days=13)), make_record(1, NOW - timedelta(days=15))]
    fake = graph_service(records=records)
    out = tmp_path / "two-weeks.jsonl"

    code, _, stderr = callgraph("fetch", "--since", "2w", "--out", out, *FAST)

    assert code == 0, stderr
    assert len(fake.token_requests) == 1  # signed in, then listed the last 14 days
    assert [r["id"] for r in read_jsonl(out)] == [record_id(0)]

    code, _, stderr = callgraph("fetch", "--since", "2 weeks", "--out", out, *FAST)
    assert code == 2
    assert stderr.splitlines() == ["Error: --since: expected a time such as 2026-11-01, 2026-11-01T08:00:00Z or an "
                                   "age such as 30s, 15m, 6h, 7d, 2w; got '2 weeks'"]
    assert len(fake.token_requests) == 1  # refused before signing in


def test_a_wrong_secret_is_one_clear_line_without_the_secret(graph_service, tmp_path, monkeypatch):
    graph_service(records=make_records(2, NOW - timedelta(hours=1)))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong-" + SECRET)

    code, stdout, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)

    assert code == 1
    assert stderr.strip().splitlines() == [
        "Error: Microsoft Entra ID refused the client secret of app 66666666-7777-8888-9999-000000000000 in tenant "
        "11111111-2222-3333-4444-555555555555 (invalid or expired): create a new secret under Certificates & "
        "secrets in the app registration and set AZURE_CLIENT_SECRET"]
    assert SECRET not in stdout + stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_a_missing_permission_says_what_to_grant(graph_service, tmp_path):
    fake = graph_service(records=make_records(2, NOW - timedelta(hours=1)), roles=("User.Read.All",))

    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)

    assert code == 1
    assert stderr.strip() == ("Error: the app has no CallRecords.Read.All permission: in the app registration add "
                              "the Microsoft Graph application permission CallRecords.Read.All (API permissions) "
                              "and grant admin consent")
    assert fake.api_hits() == []  # found from the token, before asking Graph


def test_certificate_sign_in_with_pem_and_with_a_password_protected_pfx(graph_service, tmp_path, monkeypatch):
    records = make_records(3, NOW - timedelta(hours=1))
    fake = graph_service(records=records, secret=None)
    pem_path, fake.certificate_pem = client_certificate(fake.ca, tmp_path)
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", pem_path)

    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "pem.jsonl", *FAST)
    assert code == 0, stderr
    assert len(read_jsonl(tmp_path / "pem.jsonl")) == 3

    password = "pfx-password-never-shown"
    pfx_path, fake.certificate_pem = pfx_certificate(fake.ca, tmp_path, password)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", pfx_path)
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PASSWORD", password)
    code, stdout, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "pfx.jsonl", *FAST)
    assert code == 0, stderr
    assert len(read_jsonl(tmp_path / "pfx.jsonl")) == 3
    assert all("client_assertion" in t and "client_secret" not in t for t in fake.token_requests)
    assert password not in stdout + stderr


def test_tls_is_verified_a_server_outside_the_ca_bundle_is_refused(graph_service, tmp_path, monkeypatch):
    fake = graph_service(records=make_records(1, NOW - timedelta(hours=1)))
    other = FakeGraph()  # a different CA: the test server's certificate is not signed by it
    monkeypatch.setenv("SSL_CERT_FILE", other.write_ca(tmp_path / "other.pem"))

    code, _, stderr = callgraph("fetch", "--since", "2h", "--out", tmp_path / "x.jsonl", *FAST)

    assert code == 1
    assert "cannot reach the sign-in service" in stderr and "CERTIFICATE_VERIFY_FAILED" in stderr
    assert fake.token_requests == []


def test_fetch_pstn_writes_the_logs_beside_the_records_and_load_links_them(graph_service, tmp_path, graph, cli_env):
    records = [make_record(0, NOW - timedelta(hours=5)), make_record(1, NOW - timedelta(hours=4))]
    pstn = [pstn_row(1, records[0]), pstn_row(2, at=NOW - timedelta(days=20), who=user(7))]
    direct = [direct_routing_row(1, NOW - timedelta(hours=4), user(2), row_id=records[1]["id"])]
    graph_service(records=records, pstn=pstn, direct_routing=direct)
    out = tmp_path / "calls.jsonl"

    code, _, stderr = callgraph("fetch", "--since", "30d", "--pstn", "--out", out, *FAST)
    assert code == 0, stderr
    assert "PSTN: 2 getPstnCalls rows, 1 getDirectRoutingCalls rows written" in stderr
    lines = read_jsonl(out)
    assert [line.get("@odata.type") for line in lines[2:]] == [
        "#microsoft.graph.callRecords.pstnCallLogRow", "#microsoft.graph.callRecords.pstnCallLogRow",
        "#microsoft.graph.callRecords.directRoutingLogRow"]

    code, _, stderr = callgraph("load", "--quiet", out)
    assert code == 0, stderr
    assert "2 loaded" in stderr
    assert "3 PSTN and Direct Routing rows loaded; linked to call records: 1 by id, 1 by user and time window" in stderr
    assert query(graph, "MATCH (r)-[p:PART_OF]->(c:CallRecord) RETURN labels(r)[0] AS row, c.id AS record, "
                        "p.matchedBy AS by ORDER BY row") == [
        {"row": "DirectRoutingCall", "record": records[1]["id"], "by": "id"},
        {"row": "PstnCall", "record": records[0]["id"], "by": "userTimeWindow"}]
