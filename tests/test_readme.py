"""The README's examples are a promise: each `callgraph` line of its ```sh blocks, run against
the demo tenant (`callgraph demo`, as the quickstart loads it), exits 0, and each saved query
it runs returns rows.

The rule: every line of a ```sh block that starts with `callgraph` runs, in README order (so
`callgraph summarize` runs before the queries after it, as a reader would run them), except
the lines in SKIPPED, each with its reason; a test checks that list against the README, so a
new example is run unless it is listed here. A comment that quotes output ending in "..."
(`# "100 rows, from the summaries of ..."`) promises that text.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex

import pytest
from click.testing import CliRunner

from conftest import REPO
from loader.cli import main
from loader.queries.saved import load_all

SKIPPED = {  # line (its comment stripped) -> why the demo cannot run it
    "callgraph load calls.jsonl exports/ more.json.gz": "reads the reader's own files",
    'callgraph export backfill/ --out import-csv/ --neo4j-admin "scripts/neo4j admin" > import.sh':
        "reads the reader's own backfill/ folder",
    "callgraph fetch --since 2d --out calls.jsonl.gz": "needs Graph credentials",
    "callgraph load calls.jsonl.gz": "reads the file the fetch before it writes",
    "callgraph sync --since 30d": "needs Graph credentials",
    "callgraph sync": "needs Graph credentials",
    "callgraph sync --pstn": "needs Graph credentials",
    "callgraph fetch --since 7d --pstn --out week.jsonl": "needs Graph credentials",
    "callgraph fetch --id 2f1a...e9 --out one.jsonl": "needs Graph credentials (and an id of the reader's)",
    "callgraph sync --summarize": "needs Graph credentials",
    "callgraph buildings --check buildings.csv": "reads the reader's own building data file",
    "callgraph buildings buildings.csv": "reads the reader's own building data file",
    "callgraph endpoints endpoints.csv": "reads the reader's own endpoint data file",
}


def readme_lines() -> list[tuple[str, str]]:
    """(command, comment) for each `callgraph` line of the README's ```sh blocks, in order."""
    text = (REPO / "README.md").read_text()
    lines = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip().startswith("callgraph"):
                lines.append((" ".join(command.split()), comment.strip()))
    return lines


LINES = readme_lines()
RUN = [(command, comment) for command, comment in LINES if command not in SKIPPED]


def rows_of(command: str, stdout: str) -> int:
    """How many rows a `callgraph query` printed, in the format it asked for."""
    args = shlex.split(command)
    fmt = args[args.index("--format") + 1] if "--format" in args else "table"
    if fmt == "json":
        return len(json.loads(stdout))
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(stdout)))) - 1  # the header
    return len(stdout.splitlines()) - 2  # the header and its rule


@pytest.fixture(scope="module")
def results(_session_graph, neo4j_server, tmp_path_factory):
    """The demo tenant loaded as `callgraph demo` loads it, then every runnable line, in order, in
    a directory of its own (the files an example writes, such as the report, land there)."""
    with _session_graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    runner = CliRunner()
    env = neo4j_server.env()
    demo = runner.invoke(main, ["demo"], env=env)
    assert demo.exit_code == 0, demo.output
    assert "2000 loaded" in demo.output
    with contextlib.chdir(tmp_path_factory.mktemp("readme")):
        return {command: runner.invoke(main, shlex.split(command)[1:], env=env) for command, _ in RUN}


def test_the_skipped_lines_are_in_the_readme_and_everything_else_runs():
    commands = [command for command, _ in LINES]
    assert sorted(set(SKIPPED) - set(commands)) == []  # a skipped example that left the README leaves here
    ran = {shlex.split(command)[1] for command, _ in RUN}
    assert {"queries", "query", "browser", "schema", "summarize"} <= ran
    assert {shlex.split(command)[1] for command in SKIPPED} == {"load", "export", "fetch", "sync", "buildings", "endpoints"}


@pytest.mark.parametrize("command, comment", RUN, ids=[command for command, _ in RUN])
def test_a_readme_example_does_what_it_says_on_the_demo(results, command, comment):
    result = results[command]
    assert result.exit_code == 0, result.output
    args = shlex.split(command)
    if args[1] == "query":
        assert rows_of(command, result.stdout) > 0, f"{command} returned no rows on the demo tenant"
    elif args[1] == "queries":
        assert rows_of(command, result.stdout) == len(load_all())
    elif args[1] == "report":
        assert re.fullmatch(r"wrote the report of [1-9][\d,]* calls to week\.html\n", result.output)
    elif args[1] == "browser":
        assert result.stdout.count("/browser/?connectURL=") == len(load_all())
    promised = re.search(r'"(.*?)\s*\.\.\."', comment)
    if promised:
        assert promised.group(1) in result.output


def test_the_readme_call_path_example_is_the_demos_queue_transfer(results):
    """The README's call-path id is the demo's first call through the auto attendant and the
    call queue to an agent (loader.demo.transfer_call_id): six hops, two of them services."""
    (command,) = [c for c, _ in RUN if " call-path " in c]
    rows = list(csv.DictReader(io.StringIO(results[command].stdout)))
    assert [(row["callerRole"], row["calleeRole"]) for row in rows] == [
        ("gateway", "mediationServer"), ("mediationServer", "skypeForBusinessAutoAttendant"),
        ("gateway", "mediationServer"), ("mediationServer", "skypeForBusinessCallQueues"),
        ("gateway", "mediationServer"), ("mediationServer", "user")]
