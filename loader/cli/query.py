"""`callgraph queries`, `query`, `summarize` and `browser`: the saved investigations, their
summaries, and links that open them in Neo4j Browser."""

from __future__ import annotations

import csv
import json
import sys
import time

import click

from ..errors import ParameterError, printable
from ..queries.browser import aura_csv, browser_base, favorites_zip, link, statement
from ..queries.guide import GUIDE_FILE, guide_html
from ..queries.saved import find, load_all, run
from ..queries.style import style_command
from ..queries.summaries import state as summaries_state, summarize as build_summaries
from ..store.classify import rule_in_force
from ..store.schema import ensure_schema
from ..times import AGES
from .common import neo4j_options, open_graph, output_file

FORMATS = click.Choice(["table", "json", "csv"])


@click.command()
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True, help="Output format.")
def queries(fmt):
    """List the saved queries (cypher/*.cypher): name, title, parameters.

    \b
    To run your own edited copies, point CALLGRAPH_CYPHER_DIR at a directory of .cypher
    files (e.g. a copy of cypher/): queries, query, summarize and browser then read those
    instead of the shipped ones. A file that does not parse is named with its line.
    """
    saved = load_all()
    rows = [[q.name, q.category, q.title, ", ".join(p.describe() for p in q.params)] for q in saved.values()]
    write_rows(["name", "category", "title", "parameters"], rows, fmt)


@click.command()
@click.argument("name")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter of the query (repeatable). Datetimes take 2026-11-01T00:00:00Z, "
                   f"a date, or an age such as {AGES} for that long ago.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
              help="table for people; json (an array of row objects) and csv for tools.")
@click.option("--raw-csv", is_flag=True,
              help="With --format csv: write text cells as they are. By default a cell that starts with "
                   "= + - @ (or a tab or carriage return) gets a leading ' so that a spreadsheet shows it "
                   "instead of running it as a formula.")
@neo4j_options
def query(name, params, fmt, raw_csv, uri, username, password, database):
    """Run the saved query NAME (see `callgraph queries`) in a read transaction.

    \b
    Examples:
      callgraph query shared-relays
      callgraph query pstn-paths -p minSegments=3 -p since=7d
      callgraph query call-path -p callRecordId=0de00000-0000-4000-8000-000000000001 --format json
    """
    given = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParameterError(f"-p {item!r}: expected KEY=VALUE, e.g. -p limit=10")
        given[key.strip()] = value
    saved = find(name)
    bound = saved.bind(given)
    with open_graph(uri, username, password, database) as graph:
        kept = summaries_state(graph) if saved.summary is not None else None
        rule = rule_in_force(graph) if saved.judges_streams else None
        columns, rows = run(graph, saved, bound)
    write_rows(columns, rows, fmt, raw_csv=raw_csv)
    if fmt == "table":
        click.echo(f"{len(rows)} row{'s' if len(rows) != 1 else ''}" + _source_note(kept, bound)
                   + _rule_note(rule), err=True)


def _rule_note(rule) -> str:
    """Which rule the query's poor and rated streams follow (see `callgraph classify`)."""
    if rule is None:
        return ""
    unfinished = "" if rule.complete else (" (a classify did not finish: some streams follow the previous rule; "
                                           "run callgraph classify again)")
    return f"; stream verdicts by rule {rule.name}{unfinished}"


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


@click.command()
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


def write_rows(columns: list[str], rows: list[list], fmt: str, raw_csv: bool = False) -> None:
    """Rows as JSON (control characters escaped by JSON itself), CSV (formula cells neutralised
    unless ``raw_csv``) or an aligned table (control characters escaped)."""
    out = sys.stdout
    if fmt == "json":
        json.dump([dict(zip(columns, row)) for row in rows], out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_csv_cell(v, raw_csv) for v in row] for row in rows])
    else:
        out.write(format_table(columns, rows))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# What spreadsheet tools run as a formula when a cell starts with it (OWASP's "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value, raw: bool) -> str:
    """A CSV cell: numbers as they are; text that would start a formula gets a leading '."""
    if value is None:
        return ""
    text = _cell(value)
    if not raw and isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def format_table(columns: list[str], rows: list[list], max_width: int = 60) -> str:
    """Aligned columns; long cells (hop lists, ...) are cut with an ellipsis: use json for all of it.
    Control characters are shown as escapes: a value cannot steer the terminal."""
    cells = [[_cut(printable(_cell(v)), max_width) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command()
@click.option("--url", default=None,
              help="Where Neo4j Browser is served (the /browser/ path is added) [default: the host of --uri "
                   "on --http-port].")
@click.option("--http-port", envvar="NEO4J_HTTP_PORT", default=7474, show_default=True, type=click.IntRange(1, 65535),
              help="Neo4j's HTTP port, where Browser is served [env NEO4J_HTTP_PORT, as scripts/neo4j takes it].")
@click.option("--favorites", "favorites", metavar="FILE.zip", default=None,
              help="Instead, write every saved query as a Browser favorite (a folder per category) into "
                   "this zip: drop it on Browser's Favorites drawer.")
@click.option("--aura-csv", "aura", metavar="FILE", default=None,
              help="Instead, write the saved queries as the CSV that the Saved Cypher drawer of Aura's "
                   "query tool imports: a callgraph folder, a folder per category in it.")
@click.option("--guide", "guide", metavar="FILE.html", default=None,
              help="Instead, write the investigation guide (the saved queries in the order an investigation "
                   "goes) to this file, for a server of your own: host it where Browser may fetch it "
                   "(browser.remote_content_hostname_whitelist) and run :play URL.")
@neo4j_options
def browser(url, http_port, favorites, aura, guide, uri, username, password, database):
    """Print a Neo4j Browser link for each saved query that opens it ready to run.

    \b
    A link fills the connect form (user included; you type the password) and puts the query
    in the editor as one statement: its values written in place, each named where it
    stands (LIMIT 100 /*limit*/) and listed on the first line; press run, or edit a value
    first. The :style line printed first colours and captions the graph view; the :play line
    opens the investigation guide (the local server of scripts/neo4j serves the guide, and
    applies the style and opens the guide on connect).
    \b
    Examples:
      callgraph browser                               links for the server of NEO4J_URI
      callgraph browser --favorites callgraph.zip     one drop onto Browser's Favorites
      callgraph browser --aura-csv callgraph.csv      for Aura: Query > Saved Cypher > Import
      callgraph browser --guide callgraph-guide.html  the guide, to host for another server
    """
    del password  # links never carry it
    saved = list(load_all().values())
    files = [(favorites, "--favorites", lambda: favorites_zip(saved)),
             (aura, "--aura-csv", lambda: aura_csv(saved).encode()),
             (guide, "--guide", lambda: guide_html({q.name: q for q in saved}).encode())]
    if any(path for path, _, _ in files):
        for path, option, data in files:
            if path:
                with open(output_file(path, option), "wb") as f:
                    f.write(data())
                click.echo(f"wrote {len(saved)} saved queries to {path}", err=True)
        return
    base = browser_base(url, uri, http_port)
    texts = [(q, statement(q)) for q in saved]
    click.echo(f"Style for the graph view (run once in Browser):\n  {style_command()}\n")
    click.echo(f"Investigation guide (served by the local server of scripts/neo4j; --guide for another):\n"
               f"  :play {base}/browser/{GUIDE_FILE}\n")
    for q, text in texts:
        click.echo(f"{q.name}: {q.title}\n  {link(base, uri, username, database, text)}\n")
