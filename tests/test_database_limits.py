"""What the database cannot hold, or cannot hold at once, never ends a load: a record it refuses
is rejected alone, by id, and every other record lands; two loaders writing the same records
at the same time take turns; a meeting of thousands of sessions is written in pieces."""

import copy
import json
import os
import subprocess
import sys
import logging
import time

import pytest

from click.testing import CliRunner

from conftest import AS_OF, BOLT_PORT, HTTP_PORT, REPO, query, snapshot
from loader.cli import main
from loader.demo import generate
from loader.ingest.transform import transform_record
from loader.store import write
from loader.store.connection import connect
from loader.store.write import BatchResult, write_batch


def write_jsonl(path, records) -> None:
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def load(*args):
    result = CliRunner().invoke(main, ["load", "--quiet", *map(str, args)], catch_exceptions=False)
    return result.exit_code, result.output


def test_a_value_the_database_cannot_hold_rejects_its_record_alone(graph, cli_env, tmp_path):
    records = list(generate(300, seed=3, as_of=AS_OF))
    huge_port = records[150]
    huge_port["sessions"][0]["segments"][0]["media"][0]["callerNetwork"]["port"] = 2**63
    huge_name = records[40]
    participant = next(p for p in huge_name["participants_v2"] if "user" in p["identity"])
    participant["identity"]["user"]["displayName"] = "x" * 1_000_000  # an indexed property
    path = tmp_path / "tenant.jsonl"
    write_jsonl(path, records)

    code, output = load(path)
    assert code == 1, output
    assert "Traceback" not in output
    rejected = sorted(line for line in output.splitlines() if line.startswith("rejected:"))
    assert rejected == sorted([
        f"rejected: {path}:41: record {huge_name['id']} Endpoint 'user:{participant['id']}' displayName: "
        "1,000,000 bytes, more than the 8,000 an indexed property may hold",
        # a documented int member: the transform refuses it first, naming Graph's member path
        f"rejected: {path}:151: record {huge_port['id']} sessions[0].segments[0].media[0].callerNetwork.port: "
        "9223372036854775808 is past the 64-bit integers a database holds",
    ])
    assert "300 records read in " in output and "298 loaded, 0 replaced by a newer version, 0 completed, " \
        "0 unchanged, 0 skipped as older, 2 rejected" in output
    ids = {r["id"] for r in query(graph, "MATCH (c:CallRecord) RETURN c.id AS id")}
    assert ids == {r["id"] for r in records} - {huge_port["id"], huge_name["id"]}
    # the rejected records' endpoints are not left behind, unlinked
    assert query(graph, "MATCH (e:Endpoint) WHERE NOT EXISTS { (e)--() } RETURN count(e) AS n") == [{"n": 0}]


def test_a_batch_the_database_refuses_is_narrowed_to_the_record_to_blame(graph):
    """Where no check foresaw it, the database's own refusal is narrowed by splitting the
    batch: here a record whose session key another record's tree already holds (a unique
    constraint), in the middle of a batch of 40."""
    records = [transform_record(r) for r in generate(40, seed=5, as_of=AS_OF)]
    with graph.session() as session:  # a stray Session node holding the 21st record's first key
        session.run("CREATE (:Session {key: $key})", key=f"{records[20].id}:0").consume()
    result = write_batch(graph, records)
    assert isinstance(result, BatchResult)
    assert list(result.rejected) == [records[20].id]
    assert result.rejected[records[20].id].startswith("Neo4j refused it: ")
    assert "already exists" in result.rejected[records[20].id]
    assert result.counts == {"loaded": 39}
    assert query(graph, "MATCH (c:CallRecord) WHERE c.sessionCount IS NOT NULL RETURN count(c) AS n") == [{"n": 39}]
    assert query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c", id=records[20].id) == []


CALLGRAPH = os.path.join(os.path.dirname(sys.executable), "callgraph")


def test_three_loaders_at_once_on_overlapping_input_give_the_graph_of_one_load(graph, neo4j_server, tmp_path):
    """Files A+B, A+C and A+B+C (every record in two or three of them, the three starting
    alike), loaded by three processes at once, twice over: all end with exit 0 and the graph
    is the one the three give one after the other."""
    records = list(generate(300, seed=11, as_of=AS_OF))
    a, b, c = records[:100], records[100:200], records[200:]
    files = [tmp_path / "ab.jsonl", tmp_path / "ac.jsonl", tmp_path / "abc.jsonl"]
    for path, part in zip(files, (a + b, a + c, a + b + c)):
        write_jsonl(path, part)
    env = dict(os.environ, **neo4j_server.env())
    args = ["load", "--quiet", "--batch-size", "20"]

    def comparable():  # which file a record was read from depends on which loader got there first
        with graph.session() as session:
            session.run("MATCH (c:CallRecord) REMOVE c.source").consume()
        return snapshot(graph)

    for path in files:
        one = subprocess.run([CALLGRAPH, *args, str(path)], env=env, capture_output=True, text=True, cwd=REPO)
        assert one.returncode == 0, one.stderr
    expected = comparable()
    assert len([n for n in expected[0] if "'CallRecord'" in n]) == 300

    for _ in range(2):
        with graph.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        loaders = [subprocess.Popen([CALLGRAPH, *args, str(path)], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, cwd=REPO) for path in reversed(files)]
        for loader in loaders:
            out, err = loader.communicate(timeout=300)
            assert loader.returncode == 0, err
            assert "Traceback" not in err and " 0 rejected" in err
        assert comparable() == expected


# A server of this module's own (home .neo4j-test-limits, on the ports two above the test
# server's) with a small per-transaction memory limit, which the outage test may also stop and
# start without disturbing the session's server.
OWN_BOLT, OWN_HTTP = BOLT_PORT + 2, HTTP_PORT + 2
TRANSACTION_MAX = "48m"  # the streams carry verdicts (quality, poorReasons, modality): 32m no longer held a chunk


def own_server_env() -> dict:
    return dict(os.environ, CALLGRAPH_NEO4J_HOME=str(REPO / ".neo4j-test-limits"), NEO4J_BOLT_PORT=str(OWN_BOLT),
                NEO4J_HTTP_PORT=str(OWN_HTTP), NEO4J_PASSWORD="callgraph-test", CALLGRAPH_NEO4J_MODE="maven",
                NEO4J_TRANSACTION_MAX=TRANSACTION_MAX)


def own_server(command: str) -> None:
    subprocess.run([str(REPO / "scripts" / "neo4j"), command], env=own_server_env(), check=command != "stop",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def limited_server():
    """The CLI's environment for the module's own server, emptied."""
    own_server("start")
    env = {"NEO4J_URI": f"neo4j://127.0.0.1:{OWN_BOLT}", "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": "callgraph-test",
           "NEO4J_DATABASE": "neo4j"}
    try:
        yield env
    finally:
        own_server("stop")


@pytest.fixture
def limited(limited_server):
    with connect(limited_server["NEO4J_URI"], "neo4j", "callgraph-test", "neo4j") as graph:
        with graph.session() as session:
            # relationships first: an endpoint of a big meeting has thousands, more than one transaction may delete
            session.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 1000 ROWS").consume()
            session.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume()
        yield graph, limited_server


def meeting(sessions: int) -> dict:
    """A generated meeting whose sessions are repeated until it has ``sessions`` of them."""
    record = next(r for r in generate(300, seed=3, as_of=AS_OF) if r["type"] == "groupCall" and len(r["sessions"]) > 3)
    return dict(record, sessions=[copy.deepcopy(record["sessions"][i % len(record["sessions"])])
                                  for i in range(sessions)])


def test_a_meeting_too_big_for_one_transaction_is_written_in_pieces(limited, tmp_path, monkeypatch, caplog):
    graph, env = limited
    big = meeting(1500)
    rows = transform_record(big)
    assert rows.element_count > 20_000

    # written whole in one transaction, it is more than the server allows: refused at once, not
    # retried for a minute as if the server were busy
    monkeypatch.setattr(write, "CHUNK_ELEMENTS", 10**9)
    with caplog.at_level(logging.WARNING, logger="neo4j"):
        result = write.write_batch(graph, [rows])
    assert not [r for r in caplog.records if "retried" in r.getMessage()]
    assert list(result.rejected) == [big["id"]] and result.outcomes == {}
    assert "db.memory.transaction.max" in result.rejected[big["id"]]
    monkeypatch.undo()

    path = tmp_path / "meeting.jsonl"
    others = list(generate(20, seed=9, as_of=AS_OF))
    write_jsonl(path, [big] + others)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, output = load(path)
    assert code == 0, output
    assert "21 loaded" in output
    stored = query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.sessionCount AS count, c.writeInProgress AS marker, "
                          "COUNT { (c)-[:CONTAINS]->(:Session) } AS sessions, "
                          "COUNT { (c)-[:CONTAINS*4]->(:Stream) } AS streams", id=big["id"])
    assert stored == [{"count": 1500, "marker": None, "sessions": 1500, "streams": len(rows.nodes("Stream"))}]
    # loaded again: unchanged, as any record
    code, output = load(path)
    assert code == 0 and "0 loaded" in output and "21 unchanged" in output, output


def test_a_big_record_whose_writing_was_interrupted_is_written_again(limited, tmp_path, monkeypatch):
    """A load killed between the chunks of a meeting leaves it marked writeInProgress, with
    part of its sessions; the next load of the same version writes it whole."""
    graph, env = limited
    big = meeting(1500)
    rows = transform_record(big)
    # as a killed load leaves it: the record and the first of its chunks, still marked
    monkeypatch.setattr(write, "_write_chunks", lambda graph, token, rid, values, extras, chunks, head, **_: write._write_chunk(
        graph, token, rid, values, extras, chunks[0], False))
    write.write_batch(graph, [rows])
    monkeypatch.undo()
    partial = query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.writeInProgress IS NOT NULL AS marked, "
                           "COUNT { (c)-[:CONTAINS]->(:Session) } AS sessions", id=big["id"])
    assert partial[0]["marked"] and 0 < partial[0]["sessions"] < 1500
    path = tmp_path / "meeting.jsonl"
    write_jsonl(path, [big])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, output = load(path)
    assert code == 0 and "1 loaded" in output, output
    assert query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.writeInProgress AS marker, "
                        "COUNT { (c)-[:CONTAINS]->(:Session) } AS sessions", id=big["id"]) == [
        {"marker": None, "sessions": 1500}]
    # a newer version with fewer sessions replaces it: the big tree is deleted in pieces first
    write_jsonl(path, [dict(big, version=big["version"] + 1, sessions=big["sessions"][:1200])])
    code, output = load(path)
    assert code == 0 and "1 replaced by a newer version" in output, output
    assert query(graph, "MATCH (c:CallRecord {id: $id}) RETURN c.writeInProgress AS marker, c.version AS version, "
                        "COUNT { (c)-[:CONTAINS]->(:Session) } AS sessions", id=big["id"]) == [
        {"marker": None, "version": big["version"] + 1, "sessions": 1200}]
    assert query(graph, "MATCH (s:Session) RETURN count(s) AS n") == [{"n": 1200}]


def test_an_outage_ends_the_load_with_one_line_within_wait_and_a_rerun_completes_it(limited, tmp_path):
    graph, env = limited
    records = list(generate(1500, seed=13, as_of=AS_OF))
    path = tmp_path / "tenant.jsonl"
    write_jsonl(path, records)
    run_env = dict(os.environ, **env)
    args = [CALLGRAPH, "load", "--quiet", "--batch-size", "20", "--writers", "1", "--wait", "10", str(path)]
    loader = subprocess.Popen(args, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while query(graph, "MATCH (c:CallRecord) RETURN count(c) AS n")[0]["n"] < 100:
            assert loader.poll() is None, loader.stderr.read()
            time.sleep(0.2)
        own_server("stop")
        stopped = time.monotonic()
        _, err = loader.communicate(timeout=120)
        assert time.monotonic() - stopped < 10 + 30  # --wait, and what the driver takes to notice
    finally:
        loader.kill()
        own_server("start")
    assert loader.returncode == 1
    assert err.splitlines() == [
        f"Error: Neo4j at {env['NEO4J_URI']} did not take the write within --wait 10s ("
        + err.split("within --wait 10s (", 1)[1].split("): ", 1)[0]
        + "): start it or check the network, then run the command again; what was committed stays and the re-run "
          "completes it"], err

    with connect(env["NEO4J_URI"], "neo4j", "callgraph-test", "neo4j") as again:
        committed = query(again, "MATCH (c:CallRecord) RETURN count(c) AS n")[0]["n"]
        assert 100 <= committed < 1500
        rerun = subprocess.run(args, env=run_env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        assert (f"1500 records read in " in rerun.stderr
                and f": {1500 - committed} loaded, 0 replaced by a newer version, 0 completed, {committed} unchanged, "
                    "0 skipped as older, 0 rejected" in rerun.stderr), rerun.stderr
        assert query(again, "MATCH (c:CallRecord) RETURN count(c) AS n") == [{"n": 1500}]
        assert query(again, "MATCH (e:Endpoint) WHERE NOT EXISTS { (e)--() } RETURN count(e) AS n") == [{"n": 0}]


def test_schema_cleanup_removes_the_shared_nodes_an_interrupted_load_left_unlinked(graph, cli_env):
    with graph.session() as session:  # as a load killed between its two transactions leaves them
        session.run("CREATE (:Endpoint {key: 'user:left-behind'}), (:Relay {ip: '203.0.113.9'}), "
                    "(:Endpoint {key: 'user:linked'})<-[:ORGANIZED_BY]-(:CallRecord {id: 'r1'})").consume()
    result = CliRunner().invoke(main, ["schema", "--cleanup"])
    assert result.exit_code == 0, result.output
    assert "removed unlinked nodes: 1 Endpoint, 1 Relay" in result.output
    assert query(graph, "MATCH (n) WHERE n:Endpoint OR n:Relay RETURN n.key AS key") == [{"key": "user:linked"}]
