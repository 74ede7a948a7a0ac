"""What an interrupted load leaves is cleaned up by the next one: shared nodes merged and never
linked (a load killed between its two transactions) go at the end of the next load, whatever it
loads; a writer whose freshly merged node another load's end removed merges it again; and a
database killed under a load leaves a graph that a re-run makes the one a clean load gives."""

import json
import os
import random
import signal
import subprocess
import sys
import time

from conftest import AS_OF, BOLT_PORT, HTTP_PORT, REPO, query, snapshot
from loader.demo import generate
from loader.ingest.transform import transform_record
from loader.store import write
from loader.store.connection import connect

CALLGRAPH = os.path.join(os.path.dirname(sys.executable), "callgraph")
ORPHANS = "MATCH (s) WHERE (s:Endpoint OR s:Relay OR s:Sbc) AND NOT EXISTS { (s)--() } RETURN count(s) AS n"


def write_jsonl(path, records) -> None:
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def load(env: dict, path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CALLGRAPH, "load", "--quiet", *args, str(path)], env=dict(os.environ, **env),
                          capture_output=True, text=True, cwd=REPO)


def empty(graph) -> None:
    with graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def test_the_next_load_removes_what_an_interrupted_one_left_unlinked(graph, cli_env, tmp_path):
    interrupted = list(generate(40, seed=21, as_of=AS_OF))
    others = list(generate(30, seed=22, as_of=AS_OF))
    path = tmp_path / "others.jsonl"
    write_jsonl(path, others)
    assert load(cli_env, path).returncode == 0
    reference = snapshot(graph)
    empty(graph)

    # as a load killed between its two transactions leaves them: the shared nodes of its batch
    # merged and committed, their records' trees not written
    shared = write.shared_rows([transform_record(r) for r in interrupted])
    write.execute_write(graph, write._merge_shared, shared)
    left = query(graph, ORPHANS)[0]["n"]
    assert left == sum(map(len, shared.values())) > 20

    run = load(cli_env, path)  # a plain load of other input
    assert run.returncode == 0, run.stderr
    assert query(graph, ORPHANS) == [{"n": 0}]
    assert snapshot(graph) == reference


def test_a_shared_node_removed_before_its_writer_links_it_is_merged_again(graph, monkeypatch):
    """Another load's end removes the unlinked shared nodes, also those a running writer has
    merged and is about to link: that writer's links would be missing; it merges them again."""
    records = [transform_record(r) for r in generate(30, seed=23, as_of=AS_OF)]
    write.write_batch(graph, records)
    reference = snapshot(graph)
    empty(graph)

    write_tx, sweeps = write._write_tx, []

    def sweep_then_write(tx, *args):  # the sweep of a load that ends just after the shared nodes were merged
        if not sweeps:
            sweeps.append(write.delete_all_orphans(graph))
        return write_tx(tx, *args)

    monkeypatch.setattr(write, "_write_tx", sweep_then_write)
    result = write.write_batch(graph, records)
    assert sweeps[0]["Endpoint"] > 10  # it removed them all, before the trees were written
    assert result.counts == {"loaded": 30} and not result.rejected
    assert snapshot(graph) == reference


def meeting(sessions: int, seed: int = 3) -> dict:
    """A generated meeting whose sessions are repeated until it has ``sessions`` of them."""
    record = next(r for r in generate(300, seed=seed, as_of=AS_OF) if r["type"] == "groupCall" and len(r["sessions"]) > 3)
    return dict(record, sessions=[json.loads(json.dumps(record["sessions"][i % len(record["sessions"])]))
                                  for i in range(sessions)])


def test_a_big_records_chunk_whose_shared_nodes_were_removed_merges_them_again(graph, monkeypatch):
    monkeypatch.setattr(write, "CHUNK_ELEMENTS", 200)  # a small meeting is written in chunks
    big = meeting(80)
    assert transform_record(big).element_count > 3 * 200
    write.write_batch(graph, [transform_record(big)])
    reference = snapshot(graph)
    empty(graph)

    chunk_tx, sweeps = write._chunk_tx, []

    def sweep_then_chunk(tx, *args):  # another load's end, between the record's first transactions
        if not sweeps:
            sweeps.append(write.delete_all_orphans(graph))
        return chunk_tx(tx, *args)

    monkeypatch.setattr(write, "_chunk_tx", sweep_then_chunk)
    result = write.write_batch(graph, [transform_record(big)])
    assert result.counts == {"loaded": 1} and not result.rejected
    assert sweeps[0]["Endpoint"] + sweeps[0]["Relay"] > 0  # the sessions' endpoints and relays went meanwhile
    assert snapshot(graph) == reference


# A server of this module's own, killed with SIGKILL under a load (home .neo4j-test-kill, on the
# ports three above the test server's: the import and limits servers hold the two above).
OWN_BOLT, OWN_HTTP = BOLT_PORT + 3, HTTP_PORT + 3
OWN_HOME = REPO / ".neo4j-test-kill"
# How many moments the suite kills the server at (each costs a restart, 10-30 s); more by hand
MOMENTS = int(os.environ.get("CALLGRAPH_TEST_KILL_MOMENTS", "1"))


def own_server(command: str) -> None:
    env = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(OWN_HOME), NEO4J_BOLT_PORT=str(OWN_BOLT),
               NEO4J_HTTP_PORT=str(OWN_HTTP), NEO4J_PASSWORD="callgraph-test", CALLGRAPH_NEO4J_MODE="maven",
               NEO4J_HEAP="512m", NEO4J_PAGECACHE="128m")
    subprocess.run([str(REPO / "scripts" / "neo4j"), command], env=env, check=command != "stop",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_server() -> None:
    pid = int((OWN_HOME / "run" / "neo4j.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)
    while os.path.exists(f"/proc/{pid}") and "zombie" not in _state(pid):
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/status").read().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def test_a_database_killed_under_a_load_then_a_rerun_gives_the_graph_of_one_clean_load(graph, cli_env, tmp_path):
    env = {"NEO4J_URI": f"neo4j://127.0.0.1:{OWN_BOLT}", "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": "callgraph-test",
           "NEO4J_DATABASE": "neo4j"}
    path = tmp_path / "tenant.jsonl"
    records = list(generate(300, seed=31, as_of=AS_OF))
    write_jsonl(path, records[:150] + [meeting(700, seed=5)] + records[150:])  # a meeting written in chunks
    args = ["--batch-size", "20", "--writers", "2", "--wait", "3"]
    clean = load(cli_env, path, *args)  # the reference: one clean load, on the session's server
    assert clean.returncode == 0, clean.stderr
    reference = snapshot(graph)
    started = time.monotonic()
    own_server("start")
    print(f"own server up in {time.monotonic() - started:.0f}s")
    try:
        rng = random.Random(17)
        for moment in range(MOMENTS):
            with connect(env["NEO4J_URI"], "neo4j", "callgraph-test", "neo4j") as own:
                empty(own)
            loader = subprocess.Popen([CALLGRAPH, "load", "--quiet", *args, str(path)], env=dict(os.environ, **env),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            with connect(env["NEO4J_URI"], "neo4j", "callgraph-test", "neo4j") as own:
                at = rng.randint(20, 280)  # records committed when the server dies
                while query(own, "MATCH (c:CallRecord) RETURN count(c) AS n")[0]["n"] < at:
                    assert loader.poll() is None, loader.communicate()
                    time.sleep(0.05)
            print(f"killed at {at} records, {time.monotonic() - started:.0f}s")
            assert loader.poll() is None, loader.communicate()
            kill_server()
            _, err = loader.communicate(timeout=120)
            assert loader.returncode == 1, err
            assert len(err.splitlines()) == 1 and err.startswith(f"Error: Neo4j at {env['NEO4J_URI']} ") and "Traceback" not in err, err
            print(f"loader ended, {time.monotonic() - started:.0f}s")
            own_server("start")
            print(f"restarted, {time.monotonic() - started:.0f}s")
            with connect(env["NEO4J_URI"], "neo4j", "callgraph-test", "neo4j") as own:
                rerun = load(env, path, *args)
                assert rerun.returncode == 0, rerun.stderr
                assert query(own, ORPHANS) == [{"n": 0}]
                assert query(own, "MATCH (c:CallRecord) WHERE c.writeInProgress IS NOT NULL RETURN count(c) AS n") == [
                    {"n": 0}]
                assert snapshot(own) == reference, f"moment {moment}"
            print(f"re-run checked, {time.monotonic() - started:.0f}s")
    finally:
        own_server("stop")
