"""`callgraph generate` and `demo`: the synthetic tenant that shows the saved queries off."""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import click

from ..demo import BUILDING_FILE, generate as generate_records
from ..places.files import read_building_file
from ..store.places import replace_map
from ..ingest.files import Item
from ..store.load import Summary, load_records
from ..store.schema import ensure_schema
from .common import format_summary, neo4j_options, open_graph, output_file, parse_time_option, progress_bar, show


def as_of_option(command):
    """--as-of: the day the generated calls end before (they fill the 7 days before it)."""
    return click.option(
        "--as-of", "as_of", default=None, metavar="DAY",
        callback=lambda ctx, param, value: value and parse_time_option(value, None, "--as-of").date(),
        help="The calls fill the 7 days before this day (UTC) and end before it [default: today, so they "
             "end yesterday]: a date such as 2026-11-09, or an age such as 2w. Same seed and same --as-of, same data.")(command)


@click.command()
@click.option("--calls", default=2000, show_default=True, type=click.IntRange(1), help="Call records to make.")
@click.option("--seed", default=1, show_default=True, help="Same seed and same day (or --as-of), same data.")
@click.option("--users", type=click.IntRange(2), default=None, help="Users in the tenant [default: calls / 8, 12 to 2,000].")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON Lines file to write (- for stdout; .gz is gzipped).")
@click.option("--buildings", "buildings_out", default=None, type=click.Path(dir_okay=False),
              help="Also write the tenant's CQD building data file here, for `callgraph buildings`.")
@as_of_option
def generate(calls, seed, users, out, buildings_out, as_of):
    """Write a synthetic tenant's call records as JSON Lines, in Graph's exact JSON shape.

    \b
    Peer-to-peer calls, meetings, PSTN calls through the Teams media processor to
    Direct Routing SBCs, auto attendant -> call queue transfers, Wi-Fi and wired
    subnets, shared media relays and failures; planted for the saved queries to find:
    a bad relay (52.114.188.32), a failing SBC and a poor Wi-Fi subnet (10.30.5.0).
    The calls fill the week before --as-of (today by default), so the saved queries'
    windows such as -p since=7d find them. The first call that goes through the auto
    attendant and the call queue to an agent has a fixed id, the seed in its last
    digits: 0de00000-0000-4000-8000-000000000001 for seed 1. --buildings writes
    its building data file: Seattle and Lisbon offices (Lisbon is the bad building),
    with one busy Seattle Wi-Fi subnet (10.20.2.0) left out for missing-subnets.
    """
    output_file(out)
    if buildings_out:
        output_file(buildings_out)
        with open(buildings_out, "w", encoding="utf-8") as f:
            f.write(BUILDING_FILE)
    if out == "-":
        stream = sys.stdout
    elif out.endswith(".gz"):
        stream = gzip.open(out, "wt", encoding="utf-8")
    else:
        stream = open(out, "w", encoding="utf-8")
    try:
        for record in generate_records(calls, seed=seed, users=users, as_of=as_of):
            stream.write(json.dumps(record, separators=(",", ":")) + "\n")
    finally:
        if out != "-":
            stream.close()
    if out != "-":
        click.echo(f"wrote {calls} call records to {out}", err=True)
    if buildings_out:
        click.echo(f"wrote the building data file to {buildings_out}", err=True)


@click.command()
@click.option("--calls", default=2000, show_default=True, type=click.IntRange(1), help="Call records to make.")
@click.option("--seed", default=1, show_default=True, help="Same seed and same day (or --as-of), same data.")
@as_of_option
@neo4j_options
def demo(calls, seed, as_of, uri, username, password, database):
    """Generate a synthetic tenant and load it with its building data file (see
    `generate`), then say what to run first."""
    started = time.monotonic()
    records = generate_records(calls, seed=seed, as_of=as_of)
    items = (Item(f"demo:{i}", record=r) for i, r in enumerate(records))
    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        # the map first, so that each call is placed as it is written
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo-buildings.csv"
            path.write_text(BUILDING_FILE, encoding="utf-8")
            parsed = replace(read_building_file(str(path)), path="the demo's building file (callgraph generate --buildings)")
        change = replace_map(graph, parsed)
        with progress_bar(enabled=sys.stderr.isatty(), total=calls) as bar:
            def on_batch(summary: Summary) -> None:
                rate = summary.read / max(time.monotonic() - started, 1e-6)
                show(bar, summary.read, f"{summary.read:,}/{calls:,} records ({rate:,.0f}/s), "
                                        f"{summary.elements:,} elements")

            summary = load_records(graph, items, on_batch=on_batch)
    click.echo(format_summary(summary, time.monotonic() - started), err=True)
    click.echo(f"building map: {change.networks} networks in {change.buildings} buildings "
               "(callgraph generate --buildings FILE writes it)", err=True)
    click.echo("Run first: callgraph query shared-relays   (the bad relay is at the top), then "
               "gateway-health, poor-buildings, missing-subnets and pstn-paths.", err=True)
