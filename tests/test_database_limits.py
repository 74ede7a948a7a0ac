"""What the database cannot hold, or cannot hold at once, never ends a load: a record it refuses
is rejected alone, by id, and every other record lands; two loaders writing the same records
at the same time take turns; a meeting of thousands of sessions is written in pieces."""

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from conftest import AS_OF, REPO, query, snapshot
from loader.cli import main
from loader.demo import generate
from loader.store.write import BatchResult, write_batch
from loader.ingest.transform import transform_record


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
        f"rejected: {path}:151: record {huge_port['id']} Media '{huge_port['id']}:0:0:0' callerNetworkPort: "
        "9223372036854775808 does not fit the 64-bit integers Neo4j stores",
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
