"""What a user sees when the database is not there or refuses them, and the console script itself."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, fixture_path

CALLGRAPH = str(Path(sys.executable).parent / "callgraph")


def run(args, **env):
    return subprocess.run([CALLGRAPH, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_unreachable_server_is_one_clear_line(tmp_path):
    result = run(["load", str(fixture_path("v1.0-get-callrecord.json"))],
                 NEO4J_URI="bolt://127.0.0.1:1", NEO4J_PASSWORD="x")
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: cannot reach Neo4j at bolt://127.0.0.1:1: start it (scripts/neo4j start, "
                                     "or docker compose up -d) or point NEO4J_URI at your server")


def test_wrong_password_is_one_clear_line_and_never_shows_the_password(neo4j_server):
    secret = "not-the-password-4711"
    result = run(["schema"], NEO4J_URI=neo4j_server.uri, NEO4J_PASSWORD=secret)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: Neo4j at {neo4j_server.uri} refused user 'neo4j': check "
                                     "NEO4J_USERNAME and NEO4J_PASSWORD (or --username/--password)")
    assert secret not in result.stdout + result.stderr


def test_schema_command(neo4j_server):
    result = run(["schema"], **neo4j_server.env())
    assert result.returncode == 0, result.stderr
    assert "constraints and indexes" in result.stderr


def test_graph_model_doc_is_generated_from_the_model():
    from loader.model import markdown

    assert (REPO / "docs" / "graph-model.md").read_text() == markdown(), \
        "docs/graph-model.md is stale: run python -m loader.model > docs/graph-model.md"


def test_cli_reference_matches_help():
    from loader.cli.reference import reference_markdown

    assert (REPO / "docs" / "cli.md").read_text() == reference_markdown(), \
        "docs/cli.md is stale: run python -m loader.cli.reference > docs/cli.md"


def test_every_command_is_registered_once_and_found_by_name():
    """`main` imports a command's module when the command is named (a load does not pay for the
    Graph client); COMMANDS is the one list, and each entry names a command of its module."""
    import importlib

    import click

    from loader.cli import COMMANDS, main

    with click.Context(main) as ctx:
        assert main.list_commands(ctx) == sorted(COMMANDS)
        for name, module in COMMANDS.items():
            command = main.get_command(ctx, name)
            assert isinstance(command, click.Command) and command.name == name
            assert command.callback.__module__ == f"loader.cli.{module}"
    modules = {f"loader.cli.{m}" for m in COMMANDS.values()}
    defined = {name for m in modules for name, value in vars(importlib.import_module(m)).items()
               if isinstance(value, click.Command)}
    assert defined == set(COMMANDS), "a command defined in a module but missing from COMMANDS (or the reverse)"


def _load_demo(graph):
    from conftest import AS_OF
    from loader import demo as tenant
    from loader.ingest.files import Item
    from loader.store.load import load_records

    load_records(graph, (Item(f"gen:{i}", record=r) for i, r in enumerate(tenant.generate(300, seed=1, as_of=AS_OF))))


def _people_of_pstn_paths(graph) -> set[str]:
    """The user names, ids and phone numbers that pstn-paths shows for the demo."""
    from loader.queries.saved import find, run as run_saved

    query = find("pstn-paths")
    columns, rows = run_saved(graph, query, query.bind({}))
    paths = [dict(zip(columns, row)) for row in rows]
    users = {hop[side] for path in paths for hop in path["hops"] for side in ("from", "to") if hop[f"{side}Role"] == "user"}
    return users | {path[end] for path in paths for end in ("caller", "callee") if path[end].startswith("+")}


def test_report_is_one_self_contained_html_file_without_names_unless_asked(graph, neo4j_server, tmp_path):
    from loader import demo as tenant

    _load_demo(graph)
    people = _people_of_pstn_paths(graph)
    assert any(p.startswith("+") for p in people) and any(" " in p for p in people)  # numbers and names
    out = tmp_path / "week.html"
    result = run(["report", "--out", str(out), "--since", "2026-11-02", "--until", "2026-11-09"], **neo4j_server.env())
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"wrote the report of 300 calls to {out}\n"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "calls from 2026-11-02 00:00 UTC before 2026-11-09 00:00 UTC" in page
    assert re.findall(r"<script[^>]*>", page) == ["<script>"] * 8  # plotly.js inside, once, and the 7 charts
    assert 'src="http' not in page and "plotly.js v" in page
    assert tenant.BAD_RELAY in page and 'id=pstn-paths' in page
    # the headline figures are the saved queries' own: failed segments are those of `failures`
    failures = json.loads(run(["query", "failures", "-p", "since=2026-11-02", "-p", "until=2026-11-09", "--format",
                               "json"], **neo4j_server.env()).stdout)
    assert "<div class=label>calls</div><div class=value>300</div>" in page
    assert (f"<div class=label>failed segments</div><div class=value>{sum(f['segments'] for f in failures)}</div>"
            in page) and sum(f["segments"] for f in failures) > 0
    assert [p for p in people if p in page] == []
    assert "user 1" in page and "phone 1" in page

    named = tmp_path / "named.html"
    result = run(["report", "--out", str(named), "--since", "2026-11-02", "--until", "2026-11-09", "--with-names"],
                 **neo4j_server.env())
    assert result.returncode == 0, result.stderr
    page = named.read_text(encoding="utf-8")
    assert [p for p in people if p not in page] == []


def test_report_without_plotly_says_which_extra_to_install(tmp_path, neo4j_server):
    hidden = tmp_path / "no-plotly"
    (hidden / "plotly").mkdir(parents=True)
    (hidden / "plotly" / "__init__.py").write_text("raise ImportError('No module named plotly')\n")
    result = run(["report", "--out", str(tmp_path / "r.html")], PYTHONPATH=str(hidden), **neo4j_server.env())
    assert result.returncode == 1
    assert result.stderr == "Error: callgraph report needs plotly: pip install 'teams-callgraph[report]'\n"
    assert not (tmp_path / "r.html").exists()


def test_report_refuses_an_empty_window_and_a_missing_directory(tmp_path):
    result = run(["report", "--out", str(tmp_path / "r.html"), "--since", "2026-11-09", "--until", "2026-11-02"])
    assert (result.returncode, result.stderr) == (2, "Error: --since 2026-11-09 is not before --until 2026-11-02: "
                                                     "give a window that has some time in it\n")
    result = run(["report", "--out", str(tmp_path / "nope" / "r.html")])
    assert result.returncode == 2 and "there is no directory" in result.stderr
