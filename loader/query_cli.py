"""`callgraph queries`, `query`, `summarize`, `browser`, `generate` and `demo`: the saved
investigations, their summaries, and the synthetic tenant that shows them off."""

from __future__ import annotations

import csv
import gzip
import json
import sys
import time
from urllib.parse import quote, urlencode

import click

from .cli import Progress, format_summary, main, neo4j_options, open_graph
from .generate import generate as generate_records
from .pipeline import load_records
from .queries import QueryError, find, load_all, run
from .source import Item
from .summaries import state as summaries_state, summarize as build_summaries
from .write import ensure_schema

FORMATS = click.Choice(["table", "json", "csv"])


@main.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
def queries(fmt):
    """List the saved queries (cypher/*.cypher): name, title, parameters."""
    try:
        saved = load_all()
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [[q.name, q.category, q.title, ", ".join(p.describe() for p in q.params)] for q in saved.values()]
    write_rows(["name", "category", "title", "parameters"], rows, fmt)


@main.command()
@click.argument("name")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter of the query (repeatable). Datetimes take 2026-11-01T00:00:00Z, "
                   "a date, or 24h / 7d for that long ago.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
              help="table for people; json (an array of row objects) and csv for tools.")
@neo4j_options
def query(name, params, fmt, uri, username, password, database):
    """Run the saved query NAME (see `callgraph queries`) in a read transaction.

    \b
    Examples:
      callgraph query shared-relays
      callgraph query pstn-paths -p minSegments=3 -p since=7d
      callgraph query call-path -p callRecordId=b2e1d6f3-0002-4000-8000-000000000002 --format json
    """
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.UsageError(f"-p {item!r}: expected KEY=VALUE")
        given[key.strip()] = value
    try:
        saved = find(name)
        bound = saved.bind(given)
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    with open_graph(uri, username, password, database) as graph:
        kept = summaries_state(graph) if saved.summary is not None else None
        columns, rows = run(graph, saved, bound)
    write_rows(columns, rows, fmt)
    if fmt == "table":
        click.echo(f"{len(rows)} row{'s' if len(rows) != 1 else ''}" + _source_note(kept, bound), err=True)


def _source_note(kept, bound: dict) -> str:
    """Where a summarized query's rows came from, when it matters to the reader."""
    if kept is None or not kept.exists or bound.get("since") or bound.get("until"):
        return ""
    if bound.get("fresh"):
        return ", from the calls (fresh)"
    if kept.current:
        return (f", from the summaries of {kept.built_at.iso_format()[:19]}Z ({kept.call_records:,} call records); "
                "-p fresh=true reads the calls")
    return ", from the calls: a load has written call records since the summaries were built (callgraph summarize)"


@main.command()
@neo4j_options
def summarize(uri, username, password, database):
    """Keep the saved aggregates' whole results in the graph, for big tenants.

    \b
    Without a time window an aggregate (shared-relays, poor-subnets, who-calls-whom, ...)
    reads every call record: about a second per 100,000 on two cores. This runs each one
    once over every call and keeps its rows (SummaryRow nodes); until a load or sync writes
    call records again, the query run without since/until reads those rows instead, in
    `callgraph query` and in Neo4j Browser alike. A window, or -p fresh=true, reads the
    calls as always. Run it again after loading: `load --summarize` and `sync --summarize`
    do that for you.
    """
    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        run_summarize(graph)


def run_summarize(graph) -> None:
    """Build the summaries, one line per query on stderr."""
    started = time.monotonic()
    counts = build_summaries(graph, on_query=lambda name, rows, seconds: click.echo(
        f"  {name}: {rows:,} row{'s' if rows != 1 else ''} in {seconds:.1f}s", err=True))
    click.echo(f"summarized {len(counts)} saved queries in {time.monotonic() - started:.1f}s; they read these rows "
               "without a window until call records are written again", err=True)


def write_rows(columns: list[str], rows: list[list], fmt: str) -> None:
    out = sys.stdout
    if fmt == "json":
        json.dump([dict(zip(columns, row)) for row in rows], out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(v, csv_mode=True) for v in row] for row in rows])
    else:
        out.write(format_table(columns, rows))


def _cell(value, csv_mode: bool = False) -> str:
    if value is None:
        return "" if csv_mode else "-"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(columns: list[str], rows: list[list], max_width: int = 60) -> str:
    """Aligned columns; long cells (hop lists, ...) are cut with an ellipsis: use json for all of it."""
    cells = [[_cut(_cell(v), max_width) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@main.command()
@click.option("--url", default="http://127.0.0.1:7474", show_default=True,
              help="Where Neo4j Browser is served (the /browser/ path is added).")
@neo4j_options
def browser(url, uri, username, password, database):
    """Print a Neo4j Browser link for each saved query that opens it ready to run.

    The link fills the connect form (user included; you type the password) and puts the
    query in the editor with its default parameter values written in; press run. To keep
    the queries, drag the files of cypher/ onto Browser's Favorites instead.
    """
    del password  # links never carry it
    scheme, sep, rest = uri.partition("://")
    connect_url = f"{scheme}://{username}@{rest}" if sep and "@" not in rest else uri
    try:
        saved = load_all()
        links = [(q, q.browser_text()) for q in saved.values()]
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None
    for q, text in links:
        args = urlencode({"connectURL": connect_url, "db": database, "cmd": "edit"}) + "&arg=" + quote(text)
        click.echo(f"{q.name}: {q.title}\n  {url.rstrip('/')}/browser/?{args}\n")


@main.command()
@click.option("--calls", default=2000, show_default=True, type=click.IntRange(1), help="Call records to make.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same data.")
@click.option("--users", type=click.IntRange(2), default=None, help="Users in the tenant [default: calls / 8, 12 to 2,000].")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON Lines file to write (- for stdout; .gz is gzipped).")
def generate(calls, seed, users, out):
    """Write a synthetic tenant's call records as JSON Lines, in Graph's exact JSON shape.

    \b
    Peer-to-peer calls, meetings, PSTN calls through the Teams media processor to
    Direct Routing SBCs, auto attendant -> call queue transfers, Wi-Fi and wired
    subnets, shared media relays and failures; planted for the saved queries to find:
    a bad relay (52.114.188.32), a failing SBC and a poor Wi-Fi subnet (10.30.5.0).
    """
    if out == "-":
        stream = sys.stdout
    elif out.endswith(".gz"):
        stream = gzip.open(out, "wt", encoding="utf-8")
    else:
        stream = open(out, "w", encoding="utf-8")
    try:
        for record in generate_records(calls, seed=seed, users=users):
            stream.write(json.dumps(record, separators=(",", ":")) + "\n")
    finally:
        if out != "-":
            stream.close()
    if out != "-":
        click.echo(f"wrote {calls} call records to {out}", err=True)


@main.command()
@click.option("--calls", default=2000, show_default=True, type=click.IntRange(1), help="Call records to make.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same data.")
@neo4j_options
def demo(calls, seed, uri, username, password, database):
    """Generate a synthetic tenant and load it (see `generate`), then say what to run first."""
    progress = Progress(enabled=sys.stderr.isatty())
    items = (Item(f"demo:{i}", record=r) for i, r in enumerate(generate_records(calls, seed=seed)))
    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        summary = load_records(graph, items, on_batch=progress.update)
    progress.clear()
    click.echo(format_summary(summary, time.monotonic() - progress.started), err=True)
    click.echo("Run first: callgraph query shared-relays   (the bad relay is at the top), then "
               "gateway-health, poor-subnets and pstn-paths.", err=True)
