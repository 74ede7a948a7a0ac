"""The ``callgraph`` command line."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import click

from . import __version__
from .pipeline import Problem, Summary, items_from_paths, load_records
from .source import InputError
from .summaries import state as summaries_state
from .write import DEFAULT_DATABASE, DEFAULT_URI, DEFAULT_USER, DatabaseError, connect, ensure_schema


def neo4j_options(command):
    """The connection options every database command takes, with the usual Neo4j variables."""
    options = [
        click.option("--uri", envvar="NEO4J_URI", default=DEFAULT_URI, show_default=True,
                     help="Neo4j URI [env NEO4J_URI]. neo4j:// routes in a cluster; neo4j+s:// for Aura."),
        click.option("--username", envvar="NEO4J_USERNAME", default=DEFAULT_USER, show_default=True,
                     help="Neo4j user [env NEO4J_USERNAME]."),
        click.option("--password", envvar="NEO4J_PASSWORD", default=None,
                     help="Neo4j password [env NEO4J_PASSWORD]; prefer the variable, so it stays out of "
                          "shell history. The local server from scripts/neo4j uses callgraph-dev."),
        click.option("--database", envvar="NEO4J_DATABASE", default=DEFAULT_DATABASE, show_default=True,
                     help="Database name [env NEO4J_DATABASE]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def write_options(command):
    """How `load` and `sync` write: records per transaction, transactions at once, summaries after."""
    options = [
        click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 100_000),
                     help="Call records per transaction."),
        click.option("--writers", default=3, show_default=True, type=click.IntRange(1, 16),
                     help="Transactions written at the same time, so Neo4j works on one batch while it "
                          "commits another and Python prepares the next. More can help against a remote "
                          "server or a cluster; 1 writes strictly one batch after the other."),
        click.option("--summarize", "and_summarize", is_flag=True,
                     help="Then rebuild the saved aggregates' summaries (see `callgraph summarize`)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def open_graph(uri: str, username: str, password: str | None, database: str):
    try:
        return connect(uri, username, password, database)
    except DatabaseError as exc:
        hint = "" if password else " (no password was given: set NEO4J_PASSWORD)"
        raise click.ClickException(str(exc) + hint) from None


class Commands(click.Group):
    """The commands of the feature modules, each imported when it is named.

    A load never needs the Graph client (httpx) or the saved queries: importing them took
    about 50 ms of the 0.3 s a `callgraph load` spends starting. Listing the commands
    (``--help``) imports them all.
    """

    # command -> the module that defines it (importing the module adds its commands to `main`)
    LAZY = {"browser": "query_cli", "demo": "query_cli", "generate": "query_cli", "queries": "query_cli",
            "query": "query_cli", "summarize": "query_cli", "fetch": "sync_cli", "sync": "sync_cli"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.LAZY))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.LAZY:
            importlib.import_module(f"{__package__}.{self.LAZY[name]}")
        return self.commands.get(name)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="callgraph")
def main():
    """Load Microsoft Teams call records (Graph callRecords) into Neo4j and investigate them
    as a graph: sessions, segments, endpoints, media relays and PSTN gateways.

    \b
    Start here:
      callgraph demo                      a synthetic tenant to try the saved queries on
      callgraph load records.jsonl        load Graph JSON you already have
      callgraph sync --since 7d           fetch from Microsoft Graph and load (AZURE_* settings)
      callgraph queries                   the saved investigations; then: callgraph query NAME
    Connection settings come from NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_DATABASE.
    """


@main.command()
@neo4j_options
def schema(uri, username, password, database):
    """Create callgraph's constraints and indexes (idempotent; `load` does this too)."""
    with open_graph(uri, username, password, database) as graph:
        statements = ensure_schema(graph)
    click.echo(f"schema ready: {len(statements)} constraints and indexes on {database} at {uri}", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@neo4j_options
@write_options
@click.option("--tenant-id", envvar="AZURE_TENANT_ID", default=None,
              help="Tenant the records came from [env AZURE_TENANT_ID]. Default: the organizer's tenant "
                   "found in each record.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line; rejects and the summary still print.")
def load(paths, uri, username, password, database, batch_size, writers, and_summarize, tenant_id, quiet):
    """Load call records from PATH... into Neo4j.

    \b
    PATH is a file, a directory (searched recursively for *.json, *.jsonl, *.ndjson and
    their .gz forms) or - for standard input. Each file may hold one callRecord, a Graph
    page ({"value": [...]}), a JSON array of records, or JSON Lines; gzip is detected.

    \b
    Versions: a newer record replaces its whole subtree, an older one is skipped, the
    same one is left as it is, so loading the same input twice changes nothing.
    Bad records are rejected one line each (file, line or position, record id, reason)
    and the good ones around them still load.

    \b
    Exit status: 0 all loaded, 1 something was rejected (or the database failed),
    2 usage error.
    """
    progress = Progress(enabled=not quiet and sys.stderr.isatty())

    def on_problem(problem: Problem) -> None:
        progress.clear()
        click.echo(f"rejected: {problem}", err=True)

    try:
        items = items_from_paths(list(paths))
        with open_graph(uri, username, password, database) as graph:
            ensure_schema(graph)
            summary = load_records(graph, items, batch_size=batch_size, writers=writers, tenant_id=tenant_id,
                                   on_batch=progress.update, on_problem=on_problem)
            progress.clear()
            click.echo(format_summary(summary, time.monotonic() - progress.started), err=True)
            after_load(graph, and_summarize)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    if summary.counts["rejected"]:
        sys.exit(1)


def after_load(graph, and_summarize: bool) -> None:
    """Rebuild the summaries when asked; otherwise say when the load made them stale."""
    if and_summarize:
        from .query_cli import run_summarize

        run_summarize(graph)
    else:
        kept = summaries_state(graph)
        if kept.exists and not kept.current:
            click.echo("The summaries are out of date now: the aggregates read every call until "
                       "`callgraph summarize` runs again.", err=True)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["neo4j-admin"]), default="neo4j-admin", show_default=True,
              help="Only neo4j-admin for now: CSV files with typed headers.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for the CSV files (created if missing).")
@click.option("--tenant-id", envvar="AZURE_TENANT_ID", default=None, help="As for load [env AZURE_TENANT_ID].")
@click.option("--neo4j-admin", "admin", default="neo4j-admin", show_default=True,
              help='How to call neo4j-admin in the printed command, e.g. "scripts/neo4j admin".')
def export(paths, fmt, out, tenant_id, admin):
    """Write call records from PATH... as CSV files for `neo4j-admin database import`.

    \b
    The fastest first backfill into a fresh, stopped database: the same graph `load`
    builds (newest version of each record, shared nodes once), as one CSV per label
    and relationship type. The import command is printed on standard output; run it
    with Neo4j stopped, then start Neo4j and run `callgraph schema` (and `callgraph
    summarize` for a big tenant).
    """
    from .export import export_neo4j_admin, import_command

    started = time.monotonic()
    try:
        summary, args = export_neo4j_admin(items_from_paths(list(paths)), Path(out), tenant_id)
    except InputError as exc:
        raise click.UsageError(str(exc)) from None
    for problem in summary.problems:
        click.echo(f"rejected: {problem}", err=True)
    c = summary.counts
    click.echo(f"{c['loaded'] + c['replaced'] + c['older'] + c['rejected']} records read in "
               f"{time.monotonic() - started:.1f}s: {c['loaded']} exported ({c['replaced']} replaced by a newer "
               f"version), {c['older']} skipped as older, {c['rejected']} rejected; {summary.elements} nodes and "
               f"relationships in {len(args)} files in {out}", err=True)
    for (origin, what), n in sorted(summary.ignored.items()):
        click.echo(f"skipped {origin}: {n} x {what}", err=True)
    click.echo(import_command(Path(out), args, admin=admin))
    if c["rejected"]:
        sys.exit(1)


def format_summary(summary: Summary, seconds: float) -> str:
    c = summary.counts
    lines = [f"{summary.read} records read in {seconds:.1f}s: {c['loaded']} loaded, {c['replaced']} replaced by a "
             f"newer version, {c['completed']} completed, {c['unchanged']} unchanged, {c['older']} skipped as older, "
             f"{c['rejected']} rejected"]
    if summary.log_rows:
        linked = summary.linked
        lines.append(f"{summary.log_rows} PSTN and Direct Routing rows loaded; linked to call records: "
                     f"{linked.get('id', 0)} by id, {linked.get('userTimeWindow', 0)} by user and time window")
    for (origin, what), n in sorted(summary.ignored.items()):
        lines.append(f"skipped {origin}: {n} x {what}")
    return "\n".join(lines)


class Progress:
    """One status line on a terminal, redrawn at most five times a second."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, summary: Summary) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        rate = summary.read / max(now - self.started, 1e-6)
        click.echo(f"\r{summary.read:,} records, {summary.elements:,} graph elements written "
                   f"({rate:,.0f} records/s) ", err=True, nl=False)
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)
            self.shown = False


def reference_markdown() -> str:
    """docs/cli.md: every command's --help, exactly as printed at 100 columns."""
    out = ["# CLI reference", "",
           "Generated from the code by `python -m loader.cli_reference > docs/cli.md`; a test fails when "
           "it differs from `--help`.", ""]
    with click.Context(main) as listing:
        commands = [("callgraph", main)] + [(f"callgraph {name}", main.get_command(listing, name))
                                            for name in main.list_commands(listing)]
    for title, command in commands:
        with click.Context(command, info_name=title, terminal_width=100, max_content_width=100,
                           help_option_names=["-h", "--help"]) as ctx:
            out += [f"## {title}", "", "```", command.get_help(ctx), "```", ""]
    return "\n".join(out)

