"""What a user sees when the database is not there or refuses them, and the console script itself."""

import os
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
