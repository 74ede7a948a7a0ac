"""`callgraph export --format neo4j-admin`: CSVs that neo4j-admin imports into the graph `load` builds."""

import csv
import json
import os
import subprocess

import pytest
from click.testing import CliRunner

from conftest import AS_OF, FIXTURES, REPO, query
from loader.cli import main
from loader.demo import generate
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
    assert "averageJitterMs:double" in header and "poor:boolean" in header and "startDateTime:datetime" not in header[:1]
    with open(out / "CONTAINS__Session__Segment.csv") as f:
        assert next(csv.reader(f))[:2] == [":START_ID(Session)", ":END_ID(Segment)"]
    with open(out / "CallRecord.csv") as f:
        ids = [row["id:ID(CallRecord)"] for row in csv.DictReader(f)]
    assert len(ids) == len(set(ids)) == 60 + 3  # the tenant and the docs' three records, each once


def test_neo4j_admin_imports_the_graph_that_load_builds(graph, cli_env, tmp_path, tenant_file):
    """Load into the test server; export and import into a second, offline one; compare."""
    assert CliRunner().invoke(main, ["load", "-q", str(tenant_file)]).exit_code == 0
    loaded = (query(graph, COUNT_LABELS), query(graph, COUNT_TYPES))

    out = tmp_path / "csv"
    assert CliRunner().invoke(main, ["export", str(tenant_file), "--out", str(out)]).exit_code == 0
    home = REPO / ".neo4j-test-import"
    env = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(home), NEO4J_BOLT_PORT="17688", NEO4J_HTTP_PORT="17475",
               NEO4J_PASSWORD="callgraph-test", CALLGRAPH_NEO4J_MODE="maven")
    script = str(REPO / "scripts" / "neo4j")
    subprocess.run([script, "stop"], env=env, check=True)
    subprocess.run(["rm", "-rf", str(home / "data")], check=True)
    files = [f"--relationships={p.stem.split('__')[0]}={p}" if "__" in p.stem else f"--nodes={p.stem}={p}"
             for p in sorted(out.glob("*.csv"))]
    subprocess.run([script, "admin", "database", "import", "full", "neo4j", "--overwrite-destination",
                    "--array-delimiter=;", "--multiline-fields=true", f"--report-file={tmp_path / 'import.report'}",
                    *files], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([script, "start"], env=env, check=True)
    try:
        with connect("neo4j://127.0.0.1:17688", "neo4j", "callgraph-test", "neo4j") as imported:
            assert (query(imported, COUNT_LABELS), query(imported, COUNT_TYPES)) == loaded
            sample = "MATCH (s:Stream) RETURN s.key AS key, s.averageJitterMs AS jitter, s.poor AS poor ORDER BY key LIMIT 5"
            assert query(imported, sample) == query(graph, sample)
            when = "MATCH (c:CallRecord) RETURN c.id AS id, c.startDateTime AS start, c.modalities AS m ORDER BY id LIMIT 3"
            assert query(imported, when) == query(graph, when)
    finally:
        subprocess.run([script, "stop"], env=env, check=False)
