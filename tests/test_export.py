"""`callgraph export --format neo4j-admin`: CSVs that neo4j-admin imports into the graph `load` builds."""

import csv
import json
import os
import subprocess
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from conftest import AS_OF, BOLT_PORT, FIXTURES, HTTP_PORT, REPO, query, snapshot
from loader.cli import main
from loader.demo import generate
from loader.model import NODE_BY_LABEL, RELS, prop_kinds
from loader.store.connection import connect

COUNT_LABELS = "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n ORDER BY label"
COUNT_TYPES = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type"


@pytest.fixture
def tenant_file(tmp_path):
    path = tmp_path / "tenant.jsonl"
    with open(path, "w") as f:
        for record in generate(60, seed=4, as_of=AS_OF):
            f.write(json.dumps(record) + "\n")
        # an older version of the first record after the newer one: the export keeps the newer
        older = json.loads(path.read_text().splitlines()[0])
        older.update(version=0)
        f.write(json.dumps(older) + "\n")
    return path


def test_export_writes_typed_headers_and_only_the_newest_version(tmp_path, tenant_file):
    out = tmp_path / "csv"
    result = CliRunner().invoke(main, ["export", str(tenant_file), FIXTURES.as_posix(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped as older" in result.output
    assert result.stdout.startswith("neo4j-admin database import full neo4j --overwrite-destination ")
    assert f"--nodes=Stream={out}/Stream.csv" in result.stdout
    with open(out / "Stream.csv") as f:
        header = next(csv.reader(f))
    assert header[0] == "key:ID(Stream)"
    assert "averageJitterMs:double" in header and "quality:string" in header and "startDateTime:datetime" not in header[:1]
    with open(out / "CONTAINS__Session__Segment.csv") as f:
        assert next(csv.reader(f))[:2] == [":START_ID(Session)", ":END_ID(Segment)"]
    with open(out / "CallRecord.csv") as f:
        ids = [row["id:ID(CallRecord)"] for row in csv.DictReader(f)]
    assert len(ids) == len(set(ids)) == 60 + 3  # the tenant and the docs' three records, each once


IMPORT_TYPES = {"string": "string", "enum": "string", "int": "long", "float": "double", "bool": "boolean",
                "datetime": "datetime", "duration": "double", "string[]": "string[]", "enum[]": "string[]"}


def test_the_columns_the_model_knows_are_typed_by_the_model(tmp_path, tenant_file):
    out = tmp_path / "csv"
    result = CliRunner().invoke(main, ["export", str(tenant_file), FIXTURES.as_posix(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    entities = {**NODE_BY_LABEL, **{f"{r.type}__{r.start}__{r.end}": r for r in RELS}}
    checked = 0
    for path in sorted(out.glob("*.csv")):
        with open(path) as f:
            header = dict(column.rsplit(":", 1) for column in next(csv.reader(f)) if not column.startswith(":"))
        for name, kind in prop_kinds(entities[path.stem]).items():
            if name in header and not header[name].startswith("ID("):
                assert header[name] == IMPORT_TYPES[kind], (path.name, name)
                checked += 1
    assert checked > 100
    with open(out / "Media.csv") as f:
        header = next(csv.reader(f))
    assert {"callerNetworkPort:long", "callerDeviceMicGlitchRate:double", "calleeNetworkConnectionType:string",
            "callerRatedStreams:long"} <= set(header)  # the last one derived by callgraph: typed by its values


def test_neo4j_admin_imports_the_graph_that_load_builds(graph, cli_env, tmp_path, tenant_file):
    """Load into the test server; export and import into a second, offline one; compare."""
    assert CliRunner().invoke(main, ["load", "-q", str(tenant_file)]).exit_code == 0
    loaded = (query(graph, COUNT_LABELS), query(graph, COUNT_TYPES))

    out = tmp_path / "csv"
    assert CliRunner().invoke(main, ["export", str(tenant_file), "--out", str(out)]).exit_code == 0
    with admin_imported(out, tmp_path) as imported:
        assert (query(imported, COUNT_LABELS), query(imported, COUNT_TYPES)) == loaded
        sample = "MATCH (s:Stream) RETURN s.key AS key, s.averageJitterMs AS jitter, s.quality AS quality, s.poorReasons AS reasons ORDER BY key LIMIT 5"
        assert query(imported, sample) == query(graph, sample)
        when = "MATCH (c:CallRecord) RETURN c.id AS id, c.startDateTime AS start, c.modalities AS m ORDER BY id LIMIT 3"
        assert query(imported, when) == query(graph, when)


@contextmanager
def admin_imported(out, tmp_path):
    """The CSVs in ``out`` imported with neo4j-admin into a second server of its own (home
    .neo4j-test-import, on the ports one above the test server's), started for the block."""
    home = REPO / ".neo4j-test-import"
    env = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(home), NEO4J_BOLT_PORT=str(BOLT_PORT + 1),
               NEO4J_HTTP_PORT=str(HTTP_PORT + 1), NEO4J_PASSWORD="callgraph-test", CALLGRAPH_NEO4J_MODE="maven")
    script = str(REPO / "scripts" / "neo4j")
    subprocess.run([script, "stop"], env=env, check=True)
    subprocess.run(["rm", "-rf", str(home / "data")], check=True)
    files = [f"--relationships={p.stem.split('__')[0]}={p}" if "__" in p.stem else f"--nodes={p.stem}={p}"
             for p in sorted(out.glob("*.csv"))]
    subprocess.run([script, "admin", "database", "import", "full", "neo4j", "--overwrite-destination",
                    "--array-delimiter=;", "--multiline-fields=true", f"--report-file={tmp_path / 'import.report'}",
                    *files], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([script, "start"], env=env, check=True)
    try:
        with connect(f"neo4j://127.0.0.1:{BOLT_PORT + 1}", "neo4j", "callgraph-test", "neo4j") as imported:
            yield imported
    finally:
        subprocess.run([script, "stop"], env=env, check=False)


def tricky_input(path):
    """A generated tenant as Graph hands it out over time: list-page copies (no sessions)
    before the full records, copies of the same version after them, older and newer versions
    in any order. Returns the records by their index in ``generate(40, seed=7)``."""
    records = list(generate(40, seed=7))

    def stub(i, *drop):  # the record as a list page gives it: same id and version, no sessions
        return {k: v for k, v in records[i].items() if k not in ("sessions", *drop)}

    def version(i, delta, sessions=None, minutes=0):
        copy = dict(records[i], version=records[i]["version"] + delta)
        if sessions is not None:
            copy["sessions"] = records[i]["sessions"][:sessions]
        if minutes:
            modified = datetime.fromisoformat(records[i]["lastModifiedDateTime"]) + timedelta(minutes=minutes)
            copy["lastModifiedDateTime"] = modified.isoformat().replace("+00:00", "Z")
        return copy

    before = [stub(0), stub(1), stub(3, "participants_v2"), version(7, +2, sessions=2)]
    after = [stub(4),                          # the same version without sessions: unchanged
             version(5, -1),                   # older: skipped
             version(6, +1, sessions=3),       # newer, one session fewer: replaces
             version(7, +1, sessions=4),       # older than the v+2 seen first: skipped
             version(8, 0, sessions=1, minutes=5),   # same version, modified later: replaces
             version(2, 0, sessions=1, minutes=-5)]  # same version, modified earlier: skipped
    with open(path, "w") as f:
        for record in before + records + after:
            f.write(json.dumps(record) + "\n")
    return records


def test_export_keeps_what_load_keeps_on_list_pages_and_versions_in_any_order(graph, cli_env, tmp_path):
    """Both decide by the one version rule: the same counts in both summaries, and the graph
    neo4j-admin imports from the export is the loaded one, every node and relationship."""
    tenant = tmp_path / "tricky.jsonl"
    records = tricky_input(tenant)
    load = CliRunner().invoke(main, ["load", "-q", "--batch-size", "7", str(tenant)])
    assert load.exit_code == 0, load.output
    assert load.stderr.startswith("50 records read in ")
    assert load.stderr.split(": ", 1)[1].splitlines()[0] == (
        "40 loaded, 2 replaced by a newer version, 3 completed, 1 unchanged, 4 skipped as older, 0 rejected")
    out = tmp_path / "csv"
    export = CliRunner().invoke(main, ["export", str(tenant), "--out", str(out)])
    assert export.exit_code == 0, export.output
    assert export.stderr.split(": ", 1)[1].startswith(
        "40 exported (2 replaced by a newer version, 3 completed), 1 unchanged, 4 skipped as older, 0 rejected;")

    ids = [records[i]["id"] for i in range(9)]
    kept = ("MATCH (c:CallRecord) WHERE c.id IN $ids "
            "RETURN c.id AS id, c.version AS version, c.lastModifiedDateTime AS modified, c.sessionCount AS sessions, "
            "c.participantCount AS participants, COUNT { (c)-[:CONTAINS]->(:Session) } AS sessionNodes, "
            "COUNT { (c)-[:PARTICIPANT]->() } AS participantEdges, COUNT { (c)-[:ORGANIZED_BY]->() } AS organizers "
            "ORDER BY id")
    in_load = query(graph, kept, ids=ids)
    by_id = {row["id"]: row for row in in_load}
    expected_sessions = {0: len(records[0]["sessions"]), 3: len(records[3]["sessions"]), 6: 3, 7: 2, 8: 1,
                         2: len(records[2]["sessions"])}
    for i, n in expected_sessions.items():
        assert by_id[ids[i]]["sessions"] == by_id[ids[i]]["sessionNodes"] == n, i
    assert by_id[ids[3]]["participants"] == by_id[ids[3]]["participantEdges"] == len(records[3]["participants_v2"])
    assert by_id[ids[6]]["version"] == records[6]["version"] + 1 and by_id[ids[7]]["version"] == records[7]["version"] + 2
    assert all(row["organizers"] == 1 for row in in_load)
    loaded = (query(graph, COUNT_LABELS), query(graph, COUNT_TYPES))
    every = snapshot(graph)

    with admin_imported(out, tmp_path) as imported:
        assert (query(imported, COUNT_LABELS), query(imported, COUNT_TYPES)) == loaded
        assert query(imported, kept, ids=ids) == in_load
        assert snapshot(imported) == every
