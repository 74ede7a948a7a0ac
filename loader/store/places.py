"""The admin's map in the graph: replace it from a building data file, place what is loaded.

The map is the file (``callgraph buildings``), as a CQD upload is: :func:`replace_map` makes
the graph's Building and Network nodes those of the file and says what changed (networks
added, removed, moved to another building, changed in place; buildings removed), then places
every media line already loaded again (:func:`place_all`), in batches, as ``callgraph
classify`` re-judges streams. A load reads the map in force when it starts
(:func:`map_in_force`) and the transform places each client end as it is written
(:func:`loader.places.lookup.placements`), so calls loaded before or after the file end up
the same. ``(:BuildingMap {id: 'all'})`` says which file is in force and, with ``complete:
false``, that a re-placement was interrupted: running the command again finishes it. Run it
while no load writes (a load places by the map it read when it began).

The endpoint data file is simpler: :func:`replace_devices` makes the Device nodes those of
the file; they are joined on a machine name at query time, so nothing needs placing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from ..places.files import BuildingFile, EndpointFile
from ..places.lookup import Lookup, placements
from .connection import Graph, Rows
from .write import execute_write

RECORDS_PER_BATCH = 500
NODES_PER_TRANSACTION = 5000

_READ_MAP = "MATCH (n:Network) RETURN n.key AS key, n.vpn AS vpn"
_READ_NETWORKS = ("MATCH (n:Network) OPTIONAL MATCH (n)-[:IN_BUILDING]->(b:Building) "
                  "RETURN n.key AS key, b.name AS building, properties(n) AS props")
_READ_BUILDINGS = "MATCH (b:Building) RETURN b.name AS name"
_START = ("MERGE (m:BuildingMap {id: 'all'}) SET m.complete = false, m.version = coalesce(m.version, 0) + 1, "
          "m.file = $file, m.loadedAt = datetime(), m.networks = $networks, m.buildings = $buildings")
_FINISH = "MATCH (m:BuildingMap {id: 'all'}) SET m.complete = true, m.placedEnds = $placed"
_BUILDINGS = "UNWIND $rows AS row MERGE (b:Building {name: row.name}) SET b = row"
_NETWORKS = """
UNWIND $rows AS row MERGE (n:Network {key: row.props.key}) SET n = row.props
WITH n, row
CALL (n, row) { MATCH (n)-[old:IN_BUILDING]->(b) WHERE row.building IS NULL OR b.name <> row.building DELETE old }
CALL (n, row) { MATCH (b:Building {name: row.building}) MERGE (n)-[:IN_BUILDING]->(b) }
"""
_REMOVE_NETWORKS = "UNWIND $keys AS key MATCH (n:Network {key: key}) DETACH DELETE n"
_REMOVE_BUILDINGS = "MATCH (b:Building) WHERE NOT EXISTS { (b)<-[:IN_BUILDING]-() } DETACH DELETE b"
_IDS = "MATCH (c:CallRecord) RETURN c.id AS id"
_READ_LINES = """
UNWIND $ids AS id MATCH (:CallRecord {id: id})-[:CONTAINS]->(:Session)-[:CONTAINS]->(g:Segment)-[:CONTAINS]->(m:Media)
RETURN m.key AS key, m.callerNetworkSubnet AS callerNetworkSubnet, m.callerNetworkIpAddress AS callerNetworkIpAddress,
       m.calleeNetworkSubnet AS calleeNetworkSubnet, m.calleeNetworkIpAddress AS calleeNetworkIpAddress,
       m.callerClient AS callerClient, m.calleeClient AS calleeClient,
       [(m)-[:CALLER_AT]->(n:Network) | n.key] AS CALLER_AT, [(m)-[:CALLEE_AT]->(n:Network) | n.key] AS CALLEE_AT
"""
_EDGES = ("CALLER_AT", "CALLEE_AT")
_UNPLACE = {edge: f"UNWIND $rows AS row MATCH (:Media {{key: row.media}})-[r:{edge}]->() DELETE r" for edge in _EDGES}
_PLACE = {edge: f"UNWIND $rows AS row MATCH (m:Media {{key: row.media}}) MATCH (n:Network {{key: row.network}}) "
                f"CREATE (m)-[:{edge}]->(n)" for edge in _EDGES}


def map_in_force(graph: Graph) -> Lookup | None:
    """The map's ranges for placing, or None when the graph holds no map (then nothing is placed)."""
    with graph.session(read=True) as session:
        ranges = [(row["key"], row["vpn"]) for row in session.run(_READ_MAP)]
    return Lookup(ranges) if ranges else None


@dataclass
class Placed:
    """What a re-placement did."""

    records: int = 0
    lines: int = 0  # media lines read
    ends: int = 0  # client ends placed in a network (after it)
    moved: int = 0  # ends whose placement changed (placed, unplaced, or in another network)
    seconds: float = 0.0


@dataclass
class MapChange:
    """What loading a building data file changed."""

    file: str
    networks: int = 0
    buildings: int = 0
    added: list = field(default_factory=list)  # network keys new in this file
    removed: list = field(default_factory=list)  # network keys the file no longer has
    moved: list = field(default_factory=list)  # (key, from building, to building)
    changed: list = field(default_factory=list)  # keys whose name, InsideCorp, ExpressRoute or VPN changed
    buildings_added: list = field(default_factory=list)
    buildings_removed: list = field(default_factory=list)
    placed: Placed = field(default_factory=Placed)
    version: int = 0


def plan_change(graph: Graph, parsed: BuildingFile) -> MapChange:
    """What loading ``parsed`` would change, compared with the map in the graph (nothing written)."""
    with graph.session(read=True) as session:
        old = {row["key"]: (row["building"], row["props"]) for row in session.run(_READ_NETWORKS)}
        old_buildings = {row["name"] for row in session.run(_READ_BUILDINGS)}
    change = MapChange(parsed.path, len(parsed.networks), len(parsed.buildings))
    new_keys = set()
    for row in parsed.networks:
        new_keys.add(row.key)
        if row.key not in old:
            change.added.append(row.key)
            continue
        building, props = old[row.key]
        if building != row.building:
            change.moved.append((row.key, building, row.building))
        mine = row.props()
        if any(props.get(name) != mine[name] for name in ("name", "insideCorp", "expressRoute", "vpn")):
            change.changed.append(row.key)
    change.removed = sorted(set(old) - new_keys)
    change.buildings_added = sorted(set(parsed.buildings) - old_buildings)
    change.buildings_removed = sorted(old_buildings - set(parsed.buildings))
    return change


def replace_map(graph: Graph, parsed: BuildingFile, on_batch: Callable[[Placed, int], None] | None = None,
                batch_size: int = RECORDS_PER_BATCH) -> MapChange:
    """Make the graph's map the file's (checked already: :func:`loader.places.files.read_building_file`),
    then place every media line already loaded by it. Returns what changed."""
    from ..queries.summaries import mark_calls_changed, state, summarize

    change = plan_change(graph, parsed)
    with graph.session() as session:
        change.version = session.execute_write(lambda tx: tx.run(
            _START + " RETURN m.version AS version", file=parsed.path, networks=len(parsed.networks),
            buildings=len(parsed.buildings)).single()["version"])
    buildings = [{"name": name, **{k: v for k, v in props.items() if v is not None}}
                 for name, props in sorted(parsed.buildings.items())]
    for start in range(0, len(buildings), NODES_PER_TRANSACTION):
        _run(graph, _BUILDINGS, rows=buildings[start:start + NODES_PER_TRANSACTION])
    networks = [{"props": {k: v for k, v in row.props().items() if v is not None}, "building": row.building}
                for row in parsed.networks]
    for start in range(0, len(networks), NODES_PER_TRANSACTION):
        _run(graph, _NETWORKS, rows=networks[start:start + NODES_PER_TRANSACTION])
    had_summaries = state(graph).exists
    lookup = Lookup((row.key, row.vpn) for row in parsed.networks)
    change.placed = place_all(graph, lookup, on_batch, batch_size)  # ends in removed networks: unplaced
    for start in range(0, len(change.removed), NODES_PER_TRANSACTION):
        _run(graph, _REMOVE_NETWORKS, keys=change.removed[start:start + NODES_PER_TRANSACTION])
    _run(graph, _REMOVE_BUILDINGS)
    with graph.session() as session:
        session.execute_write(lambda tx: tx.run(_FINISH, placed=change.placed.ends).consume())
    mark_calls_changed(graph)  # what the saved queries say by building may have changed
    if had_summaries:
        summarize(graph)
    return change


def _run(graph: Graph, statement: str, **params) -> None:
    execute_write(graph, lambda tx: tx.run(statement, {k: Rows(v) if isinstance(v, list) else v
                                                      for k, v in params.items()}).consume())


def place_all(graph: Graph, lookup: Lookup, on_batch: Callable[[Placed, int], None] | None = None,
              batch_size: int = RECORDS_PER_BATCH) -> Placed:
    """Place the client ends of every media line in the graph by ``lookup``, in batches of
    records; only the edges that differ from what is stored are written."""
    started = time.monotonic()
    result = Placed()
    with graph.session(read=True) as session:
        ids = [row["id"] for row in session.run(_IDS)]
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with graph.session(read=True) as session:
            lines = session.execute_read(lambda tx: [row.data() for row in tx.run(_READ_LINES, ids=chunk)])
        unplace: dict = {edge: [] for edge in _EDGES}
        place: dict = {edge: [] for edge in _EDGES}
        for line in lines:
            wanted = placements(lookup, line)
            result.ends += len(wanted)
            for edge in _EDGES:
                stored, key = line[edge], wanted.get(edge)
                if stored == ([key] if key else []):
                    continue
                result.moved += 1
                if stored:
                    unplace[edge].append({"media": line["key"]})
                if key:
                    place[edge].append({"media": line["key"], "network": key})
        if any(unplace.values()) or any(place.values()):
            execute_write(graph, _write_placements, unplace, place)
        result.records += len(chunk)
        result.lines += len(lines)
        if on_batch:
            on_batch(result, len(ids))
    result.seconds = time.monotonic() - started
    return result


def _write_placements(tx, unplace: dict, place: dict) -> None:
    for edge in _EDGES:
        if unplace[edge]:
            tx.run(_UNPLACE[edge], rows=Rows(unplace[edge])).consume()
    for edge in _EDGES:
        if place[edge]:
            tx.run(_PLACE[edge], rows=Rows(place[edge])).consume()


@dataclass
class DeviceChange:
    file: str
    devices: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0


_READ_DEVICES = "MATCH (d:Device) RETURN properties(d) AS props"
_DEVICES = "UNWIND $rows AS row MERGE (d:Device {name: row.name}) SET d = row"
_REMOVE_DEVICES = "UNWIND $names AS name MATCH (d:Device {name: name}) DELETE d"


def plan_devices(graph: Graph, parsed: EndpointFile) -> DeviceChange:
    with graph.session(read=True) as session:
        old = {row["props"]["name"]: row["props"] for row in session.run(_READ_DEVICES)}
    new = {name: {k: v for k, v in props.items() if v is not None} for name, props in parsed.devices.items()}
    return DeviceChange(parsed.path, len(new), sum(name not in old for name in new),
                        sum(name not in new for name in old),
                        sum(name in old and old[name] != props for name, props in new.items()))


def replace_devices(graph: Graph, parsed: EndpointFile) -> DeviceChange:
    """Make the graph's Device nodes those of the endpoint data file; returns what changed."""
    change = plan_devices(graph, parsed)
    with graph.session(read=True) as session:
        old = {row["name"] for row in session.run("MATCH (d:Device) RETURN d.name AS name")}
    rows = [{k: v for k, v in props.items() if v is not None} for _, props in sorted(parsed.devices.items())]
    for start in range(0, len(rows), NODES_PER_TRANSACTION):
        _run(graph, _DEVICES, rows=rows[start:start + NODES_PER_TRANSACTION])
    gone = sorted(old - set(parsed.devices))
    for start in range(0, len(gone), NODES_PER_TRANSACTION):
        _run(graph, _REMOVE_DEVICES, names=gone[start:start + NODES_PER_TRANSACTION])
    return change
