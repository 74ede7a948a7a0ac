"""`callgraph generate` and `demo`: the synthetic tenant that shows the saved queries off."""

from __future__ import annotations

import gzip
import json
import sys
import time

import click

from ..demo import generate as generate_records
from ..ingest.files import Item
from ..store.load import Summary, load_records
from ..store.schema import ensure_schema
from .common import format_summary, neo4j_options, open_graph, progress_bar, show


@click.command()
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


@click.command()
@click.option("--calls", default=2000, show_default=True, type=click.IntRange(1), help="Call records to make.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same data.")
@neo4j_options
def demo(calls, seed, uri, username, password, database):
    """Generate a synthetic tenant and load it (see `generate`), then say what to run first."""
    started = time.monotonic()
    items = (Item(f"demo:{i}", record=r) for i, r in enumerate(generate_records(calls, seed=seed)))
    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        with progress_bar(enabled=sys.stderr.isatty(), total=calls) as bar:
            def on_batch(summary: Summary) -> None:
                rate = summary.read / max(time.monotonic() - started, 1e-6)
                show(bar, summary.read, f"{summary.read:,}/{calls:,} records ({rate:,.0f}/s), "
                                        f"{summary.elements:,} elements")

            summary = load_records(graph, items, on_batch=on_batch)
    click.echo(format_summary(summary, time.monotonic() - started), err=True)
    click.echo("Run first: callgraph query shared-relays   (the bad relay is at the top), then "
               "gateway-health, poor-subnets and pstn-paths.", err=True)
