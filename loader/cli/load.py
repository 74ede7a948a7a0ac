"""`callgraph schema`, `load` and `export`: call records from files into Neo4j, or into CSV files
for neo4j-admin import."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..ingest.files import ReadPosition, expand_paths, input_size
from ..model import DEFAULT_QUALITY_RULE, QUALITY_RULES
from ..store.connection import shown_uri
from ..store.load import Problem, Summary, items_from_paths, load_records
from ..store.schema import ensure_schema
from .common import (after_load, echo_over, format_summary, ignored_lines, neo4j_options, nothing_found, open_graph,
                     batch_progress, progress_bar, show, write_options)


@click.command()
@neo4j_options
@click.option("--cleanup", is_flag=True,
              help="Also remove the endpoints, relays and SBCs nothing links to, which a load that was killed or "
                   "lost its server may leave (every load ends by removing them too; safe while loads run).")
def schema(uri, username, password, database, cleanup):
    """Create callgraph's constraints and indexes (idempotent; `load` does this too)."""
    with open_graph(uri, username, password, database) as graph:
        statements = ensure_schema(graph)
        if cleanup:
            from ..store.write import delete_all_orphans

            deleted = delete_all_orphans(graph)
            click.echo("removed unlinked nodes: " + ", ".join(f"{n} {label}" for label, n in deleted.items()), err=True)
    click.echo(f"schema ready: {len(statements)} constraints and indexes on {database} at {shown_uri(uri)}",
               err=True)


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@neo4j_options
@write_options
@click.option("--tenant-id", default=None,
              help="Tenant to store on records that carry none or a wrong one. Default: each record's own "
                   "organizer tenant. AZURE_TENANT_ID is for signing in to Graph (fetch, sync) and is "
                   "ignored here, so an exported sign-in tenant never relabels records from elsewhere.")
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
    Exit status: 0 all loaded, 1 something was rejected, no records were found in
    PATH... at all, or the database failed; 2 usage error (a PATH that does not exist
    or cannot be read, a bad option); 130 interrupted (Ctrl-C: what was committed stays).
    """
    started = time.monotonic()
    files = list(expand_paths(list(paths)))  # checked before connecting: a wrong PATH stops at once
    total = input_size(files)  # bytes, when every input is a regular file
    position = ReadPosition()

    def on_problem(problem: Problem) -> None:
        echo_over(f"rejected: {problem}")

    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        with progress_bar(enabled=not quiet and sys.stderr.isatty(), total=total) as bar:
            def on_batch(summary: Summary) -> None:  # in a writer thread, one at a time
                rate = summary.read / max(time.monotonic() - started, 1e-6)
                show(bar, position.bytes if total is not None else summary.read,
                     f"{summary.read:,} records ({rate:,.0f}/s), {summary.elements:,} elements")

            summary = load_records(graph, items_from_paths(files, position), batch_size=batch_size,
                                   writers=writers, tenant_id=tenant_id, on_batch=on_batch, on_problem=on_problem)
        if error := nothing_found(summary, paths):
            for line in ignored_lines(summary):
                click.echo(line, err=True)
            raise error
        click.echo(format_summary(summary, time.monotonic() - started), err=True)
        after_load(graph, and_summarize)
    if summary.counts["rejected"]:
        sys.exit(1)


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["neo4j-admin"]), default="neo4j-admin", show_default=True,
              help="Only neo4j-admin for now: CSV files with typed headers.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for the CSV files (created if missing).")
@click.option("--tenant-id", default=None,
              help="As for load: overrides each record's organizer tenant; AZURE_TENANT_ID is ignored.")
@click.option("--neo4j-admin", "admin", default="neo4j-admin", show_default=True,
              help='How to call neo4j-admin in the printed command, e.g. "scripts/neo4j admin".')
def export(paths, fmt, out, tenant_id, admin):
    """Write call records from PATH... as CSV files for `neo4j-admin database import`.

    \b
    The fastest first backfill into a fresh, stopped database: the same graph `load`
    builds (newest version of each record, shared nodes once), as one CSV per label
    and relationship type. The import command is printed on standard output; run it
    with Neo4j stopped, then start Neo4j and run `callgraph schema` (and `callgraph
    summarize` for a big tenant). Streams are judged by the cqd rule; `callgraph classify
    --rule NAME` after the import judges them by another.
    """
    from ..store.export import export_neo4j_admin, import_command

    started = time.monotonic()
    summary, args = export_neo4j_admin(items_from_paths(list(paths)), Path(out), tenant_id)
    for problem in summary.problems:
        click.echo(f"rejected: {problem}", err=True)
    c = summary.counts
    click.echo(f"{summary.read} records read in {time.monotonic() - started:.1f}s: {c['loaded']} exported "
               f"({c['replaced']} replaced by a newer version, {c['completed']} completed), {c['unchanged']} "
               f"unchanged, {c['older']} skipped as older, {c['rejected']} rejected; {summary.elements} nodes and "
               f"relationships in {len(args)} files in {out}", err=True)
    for line in ignored_lines(summary):
        click.echo(line, err=True)
    click.echo(import_command(Path(out), args, admin=admin))
    if c["rejected"]:
        sys.exit(1)




@click.command()
@click.option("--rule", type=click.Choice([r.name for r in QUALITY_RULES]), default=DEFAULT_QUALITY_RULE,
              show_default=True, help="cqd: the Call Quality Dashboard's current rules; cqd-legacy: its older "
                                      "five-metric audio rule (no packet gate).")
@click.option("--quiet", "-q", is_flag=True, help="No progress line; the summary still prints.")
@neo4j_options
def classify(rule, quiet, uri, username, password, database):
    """Judge every stream in the graph again by RULE, from its stored metrics.

    \b
    Each stream gets quality good, poor or unclassified and, when poor, poorReasons (the
    Graph members that crossed). Every count of verdicts (media lines, segment ends,
    sessions, relay edges) is rebuilt in place, in batches, without reading any input; the
    summaries are rebuilt when they exist. The rule is kept in the graph: later loads and
    syncs judge new records by it, and `callgraph query` names it. The rules and their
    thresholds: docs/graph-model.md (Stream verdicts).
    """
    from ..store.classify import classify as run_classify

    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        with batch_progress(quiet, lambda result, total: f"{result.records:,} of {total:,} records, "
                                                         f"{result.streams:,} streams") as on_batch:
            result = run_classify(graph, rule, on_batch=on_batch)
    rate = result.streams / max(result.seconds, 1e-6)
    share = f"{result.poor / (result.poor + result.good):.1%}" if result.poor + result.good else "-"
    click.echo(f"classified {result.streams:,} streams of {result.records:,} call records by rule {rule} in "
               f"{result.seconds:.1f}s ({rate:,.0f} streams/s): {result.poor:,} poor, {result.good:,} good, "
               f"{result.streams - result.poor - result.good:,} unclassified (poor {share} of the classified)"
               + ("; summaries rebuilt" if result.summarized else ""), err=True)
