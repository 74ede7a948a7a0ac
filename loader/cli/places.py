"""`callgraph buildings` and `endpoints`: the admin's own map (CQD's building and endpoint data
files) into the graph."""

from __future__ import annotations

import click

from ..places.files import FileRefused, read_building_file, read_endpoint_file
from ..model import BUILDING_FILE_COLUMNS, ENDPOINT_FILE_COLUMNS
from ..store.schema import ensure_schema
from .common import batch_progress, neo4j_options, open_graph

BUILDINGS_HELP = ("""Load CQD's building data file FILE: the admin's map of networks and buildings.

    \b
    The same file you upload to the Call Quality Dashboard (Teams admin center, CQD,
    Tenant Data Upload; Microsoft documents it under "Upload tenant and building data").
    CSV or TSV, no header row, one network a row, in this order (the last column optional):
      """ + ", ".join(c for c, *_ in BUILDING_FILE_COLUMNS[:6]) + """,
      """ + ", ".join(c for c, *_ in BUILDING_FILE_COLUMNS[6:14]) + """[, VPN]
    NetworkIP and NetworkRange are the range's network address and prefix length (10.51.4.0
    and 24; IPv6 too), a supernet welcome (10.60.0.0, 16); InsideCorp, ExpressRoute and VPN
    are 0 or 1; quote a name with a comma in CSV ("Bergen, Harbour House").

    \b
    The file is the truth, as a CQD upload is: it replaces the map loaded before, and the
    command says what changed (networks added, removed, moved to another building). Then
    every media line already loaded is placed again: each client end (not a service
    endpoint) goes to the network whose range holds its subnet, or, for a VPN=1 row, its
    own IP address; later loads place new calls as they write them. Walk it in Browser:
    (:Building)<-[:IN_BUILDING]-(:Network)<-[:CALLER_AT|CALLEE_AT]-(:Media).

    \b
    Refused whole, changing nothing, with every problem named by line and column: a
    header row, a wrong column count, a bad address, range or boolean, a NetworkIP that
    is not its range's network address, and overlapping ranges (both rows named); also
    over CQD's limits of 50 MB and 1,000,000 rows. Run it while no load is writing.
""")
ENDPOINTS_HELP = ("""Load CQD's endpoint data file FILE: make, model and labels of the tenant's machines.

    \b
    The file you upload to the Call Quality Dashboard next to the building data file
    ("Upload tenant and building data" in Microsoft's docs): CSV or TSV, no header row,
    six text columns in this order:
      """ + ", ".join(c for c, _ in ENDPOINT_FILE_COLUMNS) + """
    EndpointName is the machine name Teams reports (Graph's participantEndpoint.name, kept
    as `name` on a segment's CALLER and CALLEE edges). The file replaces the one loaded
    before. Each machine becomes a (:Device {name}) node, joined at query time:
      MATCH (:Segment)-[e:CALLER|CALLEE]->() MATCH (d:Device {name: e.name})
    Refused whole, changing nothing: a header row, a wrong column count, a row without a
    name, a name twice.
""")
LISTED = 20  # networks listed per kind of change; the rest are counted


def _read(reader, path: str):
    try:
        return reader(path)
    except FileRefused as exc:
        if exc.total > 1:
            for problem in exc.problems:
                click.echo(f"refused: {problem}", err=True)
            if exc.total > len(exc.problems):
                click.echo(f"refused: ... and {exc.total - len(exc.problems):,} more problems", err=True)
        raise


def _listed(what: str, items: list) -> None:
    for item in items[:LISTED]:
        click.echo(f"  {what} {item}", err=True)
    if len(items) > LISTED:
        click.echo(f"  ... and {len(items) - LISTED:,} more {what}", err=True)


@click.command(help=BUILDINGS_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only read and check FILE, print its counts; the database is not used.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line; the summary still prints.")
@neo4j_options
def buildings(file, check, quiet, uri, username, password, database):
    parsed = _read(read_building_file, file)
    summary = (f"{file}: {len(parsed.networks):,} networks in {len(parsed.buildings):,} buildings "
               f"({parsed.dialect}, {parsed.columns} columns"
               + (", with VPN" if parsed.columns == len(BUILDING_FILE_COLUMNS) else "") + ")")
    for note in parsed.notes:
        click.echo(f"note: {note}", err=True)
    if check:
        click.echo(f"{summary}: fine, nothing loaded (--check)", err=True)
        return
    from ..store.places import replace_map

    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        with batch_progress(quiet, lambda placed, total: f"placing: {placed.records:,} of {total:,} records, "
                                                         f"{placed.ends:,} ends") as on_batch:
            change = replace_map(graph, parsed, on_batch=on_batch)
    placed = change.placed
    click.echo(f"{summary}: map version {change.version}", err=True)
    click.echo(f"networks: {len(change.added):,} added, {len(change.removed):,} removed, {len(change.moved):,} moved "
               f"to another building, {len(change.changed):,} changed (name, InsideCorp, ExpressRoute or VPN); "
               f"buildings: {len(change.buildings_added):,} added, {len(change.buildings_removed):,} removed", err=True)
    _listed("added", change.added)
    _listed("removed", change.removed)
    _listed("moved", [f"{key}: {old or '(no building)'} -> {new or '(no building)'}" for key, old, new in change.moved])
    _listed("changed", change.changed)
    _listed("building added", change.buildings_added)
    _listed("building removed", change.buildings_removed)
    click.echo(f"placed {placed.ends:,} client ends of {placed.lines:,} media lines in {placed.records:,} call records "
               f"in {placed.seconds:.1f}s ({placed.moved:,} placements changed)", err=True)


@click.command(help=ENDPOINTS_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only read and check FILE, print its counts; the database is not used.")
@neo4j_options
def endpoints(file, check, uri, username, password, database):
    parsed = _read(read_endpoint_file, file)
    summary = f"{file}: {len(parsed.devices):,} machines ({parsed.dialect})"
    if check:
        click.echo(f"{summary}: fine, nothing loaded (--check)", err=True)
        return
    from ..store.places import replace_devices

    with open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        change = replace_devices(graph, parsed)
    click.echo(f"{summary}: {change.added:,} added, {change.removed:,} removed, {change.changed:,} changed", err=True)
