"""Write: the one path by which callgraph writes call records into the database.

Batched writes of record trees (:mod:`loader.ingest.tree`): UNWIND statements built from
:mod:`loader.model`, run in transactions that are tried again on transient errors such as
deadlocks and leader switches in a cluster (:func:`execute_write`), for up to ``--wait`` seconds.

Versions are decided (:func:`loader.store.versions.decide`) inside the same transaction that
writes, so two loaders never interleave a check and a write: a newer record replaces its
whole subtree, an older one is skipped, the same one is left alone, and the same version
with parts the stored copy lacks (sessions or participants) is completed. The shared nodes a batch names (endpoints,
relays) are merged just before, in a short transaction of their own, so that concurrent
writers hold their locks for milliseconds; the ones no call links to any more are removed
when the load ends.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import neo4j

from ..ingest.tree import RecordRows
from ..ingest.values import Timestamp
from ..model import (CALL_RECORD_NODE, CHUNK_ELEMENTS, INDEXED_STRING_MAX_BYTES, INT64_RANGE, NODE_BY_LABEL, NODES,
                     RELS, datetime_names, indexed_names, stored_names, tree_depth)
from ..errors import DatabaseError
from .connection import Graph, Rows, shown_uri
from .versions import COMPLETED, NEW, REPLACED, UNCHANGED, Held, decide

# Every statement of a batch finds its nodes by a unique key, so its plan does not depend on
# how many nodes there are. Neo4j still replans a cached statement once the counts have moved
# far enough since it was planned, which at the start of a load into a new or emptied database
# is every statement again, 50-250 ms each: a 1,000-record load spent 0.6 s of its 3.4 s so.
REPLAN_SKIP = "CYPHER replan=skip "

# The record's tree is written by one statement, from the record down: each owned node below it
# is created under its parent, which is at hand (no lookup), together with the CONTAINS edge.
_PARENT = {r.end: r.start for r in RELS if r.type == "CONTAINS"}
_CHILDREN = {n.label: [r.end for r in RELS if r.type == "CONTAINS" and r.start == n.label] for n in NODES if n.owned}
_ROOT = next(n.label for n in NODES if n.owned and n.label not in _PARENT)
# Every owned node is written together with its edges to shared nodes (the record's
# ORGANIZED_BY and PARTICIPANT, a session's or segment's CALLER, CALLEE and USED_RELAY): the
# node is at hand, so an edge costs one lookup (its endpoint or relay) instead of two.
_LINKS = {n.label: [r for r in RELS if r.start == n.label and not NODE_BY_LABEL[r.end].owned]
          for n in NODES if n.owned}
# label or (start label, type) -> (stored names in the model's order, the same as a set)
_NAMES = {n.label: (stored_names(n), frozenset(stored_names(n))) for n in NODES} | {
    (r.start, r.type): (stored_names(r), frozenset(stored_names(r))) for r in RELS}


def datetimes_set(node, row: str) -> str:
    """Cypher that turns the label's timestamp strings into datetimes, on the server."""
    names = datetime_names(node)
    return (" SET " + ", ".join(f"n.{name} = datetime({row}.{name})" for name in names)) if names else ""


def _values(entity, var: str) -> list[tuple[str, str]]:
    """(name, Cypher value) for every property the model names for ``entity``, read by position
    from the list ``var`` (:func:`_row` builds it in the same order): absent ones are null;
    timestamps become datetimes.

    Spelled out rather than ``SET n = map``: a map of unknown keys might set any property,
    so Neo4j plans an Eager (every row of the batch held in memory) after each such SET, and
    resolves every key's name for every row; here both happen once, when the plan is made.
    And a list by position carries no names: Neo4j decodes each row's values only.
    """
    datetimes = set(datetime_names(entity))
    return [(name, f"datetime({var}[{i}])" if name in datetimes else f"{var}[{i}]")
            for i, name in enumerate(stored_names(entity))]


def _literal(entity, var: str) -> str:
    """A Cypher map of :func:`_values`, for CREATE (which leaves null properties unset)."""
    return "{" + ", ".join(f"{name}: {value}" for name, value in _values(entity, var)) + "}"


@functools.cache
def _node_statement(label: str) -> str:
    """A shared label's UNWIND statement; its rows are its properties."""
    node = NODE_BY_LABEL[label]
    # A shared node is set only when a value differs: setting takes a write lock that would
    # make every concurrent writer touching the same endpoint or relay wait for this commit.
    return (REPLAN_SKIP + f"UNWIND $rows AS row MERGE (n:{label} {{{node.key}: row.{node.key}}}) "
            "WITH n, row WHERE any(name IN keys(row) WHERE n[name] IS NULL OR n[name] <> row[name]) "
            "SET n += row" + datetimes_set(node, "row"))


@functools.cache
def _tree_statement(extras: bool = False, placed: bool = False) -> str:
    """The statement that writes a batch's trees. Its rows are the records' (:func:`tree_rows`):
    ``{values, <TYPE>: links, <child label>: rows}`` at every level, and ``extra``, members the
    model does not know, when ``extras``; the media lines' links to the map's networks only when
    ``placed`` (a load without a map runs the statement it always did)."""
    return REPLAN_SKIP + "UNWIND $rows AS row0 " + _tree_level(_ROOT, 0, extras, placed)


def _tree_level(label: str, depth: int, extras: bool, placed: bool = False) -> str:
    """Cypher for one level of the tree: its node from ``row<depth>`` as ``n<depth>``, its
    links, and the levels below it, each in a unit subquery (the row count stays as it is)."""
    node, n, row = NODE_BY_LABEL[label], f"n{depth}", f"row{depth}"
    if depth == 0:  # the record: new, or completed with the parts it lacked (keeping what the row lacks)
        key = dict(_values(node, f"{row}.values"))[node.key]
        cypher = (f"MERGE ({n}:{label} {{{node.key}: {key}}}) SET "
                  + ", ".join(f"{n}.{name} = coalesce({value}, {n}.{name})"
                              for name, value in _values(node, f"{row}.values") if name != node.key))
    else:  # below it, new by construction: an older version's subtree was deleted first
        cypher = f"CREATE (n{depth - 1})-[:CONTAINS]->({n}:{label} {_literal(node, f'{row}.values')})"
    if extras:
        cypher += f" SET {n} += coalesce({row}.extra, {{}})"
    for rel in _LINKS[label]:
        if not placed and (label, rel.type, rel.end) in _PLACEMENT_LINKS:
            continue
        cypher += (f" WITH * CALL ({n}, {row}) {{ UNWIND {row}.{rel.type} AS link "
                   f"MATCH (b:{rel.end} {{{NODE_BY_LABEL[rel.end].key}: link.end}}) "
                   f"CREATE ({n})-[r:{rel.type} {_literal(rel, 'link.values')}]->(b)"
                   + (" SET r += coalesce(link.extra, {})" if extras else "") + " }")
    for child in _CHILDREN[label]:
        cypher += (f" WITH * CALL ({n}, {row}) {{ UNWIND {row}.{child} AS row{depth + 1} "
                   + _tree_level(child, depth + 1, extras, placed) + " }")
    return cypher


def _rel_statement(start: str, rel_type: str, end: str) -> str:
    skey, ekey = NODE_BY_LABEL[start].key, NODE_BY_LABEL[end].key
    return (REPLAN_SKIP + f"UNWIND $rows AS row MATCH (a:{start} {{{skey}: row.start}}) MATCH (b:{end} {{{ekey}: row.end}}) "
            f"CREATE (a)-[r:{rel_type}]->(b) SET r = row.props")


# Shared nodes are merged in a transaction of their own (see write_batch); then the records'
# trees in one statement, then the relationships outside them, when both ends exist.
_SHARED_ORDER = [n.label for n in NODES if not n.owned]
_TREE_ORDER = [n.label for n in NODES if n.owned]  # parents before children, as the model lists them
assert all(_TREE_ORDER.index(_PARENT[label]) < _TREE_ORDER.index(label) for label in _TREE_ORDER if label in _PARENT)
_REL_ORDER = [(r.start, r.type, r.end) for r in RELS
              if r not in _LINKS.get(r.start, ()) and not (r.type == "CONTAINS" and r.end in _PARENT)]
# Links to the admin's map (a media line's CALLER_AT/CALLEE_AT a Network) are written with the tree when
# the load places ends (loader.places.lookup), but the map's nodes are not the calls' shared nodes: a
# load never merges, unlinks or removes them.
_PLACEMENT_LINKS = frozenset((r.start, r.type, r.end) for r in RELS if NODE_BY_LABEL[r.end].by_file)
_CALL_SHARED = [r for r in RELS if not NODE_BY_LABEL[r.end].owned and not NODE_BY_LABEL[r.end].by_file]
_SHARED_LINKS = "|".join(sorted({r.type for r in _CALL_SHARED}))
# Depths in the record's tree, from the model's CONTAINS relationships: a record's whole tree
# lies 1 to _TREE_DEPTH CONTAINS edges below it (Session .. Stream), and the owned nodes that
# link to shared nodes lie 0 to _LINK_DEPTH below it (the record, its sessions and segments).
_TREE_DEPTH = tree_depth()
_LINK_DEPTH = max(tree_depth(label) for label, links in _LINKS.items() if set(links) & set(_CALL_SHARED))

# What sync's skip test reads: a record still being written, or whose writing was interrupted
# (writeInProgress), counts as not stored.
READ_VERSIONS = REPLAN_SKIP + """
UNWIND $ids AS id MATCH (c:CallRecord {id: id}) WHERE c.writeInProgress IS NULL
RETURN c.id AS id, c.version AS version, c.lastModifiedDateTime AS modified,
       c.sessionCount IS NOT NULL AS hasSessions, c.participantCount IS NOT NULL AS hasParticipants
"""
# The shared nodes a record's tree links to, by label and key: after a replacement, the
# ones only the old version used are left without relationships and are removed.
_SHARED_LINKED = sorted({r.end for r in _CALL_SHARED if NODE_BY_LABEL[r.start].owned})
_SHARED_OF = REPLAN_SKIP + f"""
UNWIND $ids AS id MATCH (:CallRecord {{id: id}})-[:CONTAINS*0..{_LINK_DEPTH}]->()-[:{_SHARED_LINKS}]->(s)
WITH DISTINCT s
RETURN CASE {" ".join(f"WHEN s:{label} THEN '{label}'" for label in _SHARED_LINKED)} END AS label,
       CASE {" ".join(f"WHEN s:{label} THEN s.{NODE_BY_LABEL[label].key}" for label in _SHARED_LINKED)} END AS key
"""


# What a writer reads, in its transaction: each record node of the batch locked first, in id
# order, so that two loaders writing the same record take turns (the second decides against what
# the first committed, never both "not stored": they would both create its sessions) and never
# deadlock. A record not stored yet is created here, bare, which locks its key the same way.
LOCK_VERSIONS = REPLAN_SKIP + """
UNWIND $ids AS id MERGE (c:CallRecord {id: id}) ON CREATE SET c._new = true ON MATCH SET c._lock = true
WITH c, c._new IS NOT NULL AS new REMOVE c._new, c._lock
RETURN c.id AS id, new, c.version AS version, c.lastModifiedDateTime AS modified,
       c.sessionCount IS NOT NULL AS hasSessions, c.participantCount IS NOT NULL AS hasParticipants,
       c.writeInProgress AS inProgress, c.sessionCount AS sessionCount
"""


def held_of(row) -> Held:
    """A stored record's version as :func:`loader.store.versions.decide` takes it (a row of
    READ_VERSIONS)."""
    return Held(row["version"] or 0, Timestamp.of(row["modified"]), row["hasSessions"], row["hasParticipants"])


# A replaced record keeps its node, emptied of the old version's properties, subtree and links:
# the PSTN and Direct Routing rows linked to it (PART_OF) stay linked.
_CLEAR_RECORDS = REPLAN_SKIP + f"""
UNWIND $ids AS id MATCH (c:CallRecord {{id: id}})
CALL (c) {{ MATCH (c)-[:CONTAINS*1..{_TREE_DEPTH}]->(x) DETACH DELETE x }}
CALL (c) {{ MATCH (c)-[r]->() DELETE r }}
SET c = {{id: c.id}}
"""


@dataclass
class BatchResult:
    outcomes: dict = field(default_factory=dict)  # record id -> outcome
    elements: int = 0  # nodes and relationships written
    unlinked: dict = field(default_factory=dict)  # label -> keys of shared nodes replaced trees linked to
    rejected: dict = field(default_factory=dict)  # record id -> why the database would not hold it
    pending: list = field(default_factory=list)  # big records' later chunks (see _write_tx)

    @property
    def counts(self) -> Counter:
        return Counter(self.outcomes.values())

    def add(self, other: "BatchResult") -> None:
        self.outcomes.update(other.outcomes)
        self.elements += other.elements
        self.rejected.update(other.rejected)
        for label, keys in other.unlinked.items():
            self.unlinked.setdefault(label, set()).update(keys)


class Refused(Exception):
    """The database would not take a write for what it holds, not for a fault of its own: a
    value it cannot store or index, a constraint, a transaction too big for its memory."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def refusal(exc: BaseException) -> str | None:
    """Why the database refused a write because of the records in it, or None when the fault
    lies elsewhere (the server or the connection went away, a password, a busy server)."""
    if isinstance(exc, Refused):
        return exc.reason
    if not isinstance(exc, neo4j.exceptions.Neo4jError):
        return None
    code = exc.code or ""
    if _is_memory(code):
        return _memory_reason(exc)
    if isinstance(exc, neo4j.exceptions.TransientError) or any(
            f".{kind}." in code for kind in ("Security", "Database", "Cluster", "Request")):
        return None
    return f"Neo4j refused it: {(exc.message or code).splitlines()[0]}"


def _is_memory(code: str | None) -> bool:
    return "OutOfMemory" in (code or "") or "MemoryLimit" in (code or "")


def _memory_reason(exc: BaseException) -> str:
    said = getattr(exc, "message", None) or str(exc)
    return f"more than the server lets one transaction hold (db.memory.transaction.max): {said.splitlines()[0]}"


def execute_write(graph: Graph, work, *args):
    """``work(tx, *args)`` in a write transaction, committed, and tried again on transient
    errors (a deadlock, a leader switch, a server away for a moment) for up to ``graph.wait``
    seconds, as the driver's ``execute_write`` does; except that a transaction the server had
    not the memory for raises :class:`Refused` at once.

    Neo4j calls running out of transaction memory transient, so the driver would try the same
    transaction again and again until its retry time ran out; it would run out the same way.
    The error may come while committing, so the commit is here rather than in the driver.
    """
    deadline = time.monotonic() + graph.wait
    delay = 0.5
    while True:
        try:
            with graph.session() as session, session.begin_transaction() as tx:
                result = work(tx, *args)
                tx.commit()
            return result
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
            if isinstance(exc, neo4j.exceptions.Neo4jError) and _is_memory(exc.code):
                raise Refused(_memory_reason(exc)) from None
            if not exc.is_retryable():
                raise
            if time.monotonic() + delay > deadline:
                said = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).splitlines()[0].rstrip(".")
                raise DatabaseError(
                    f"Neo4j at {shown_uri(graph.uri)} did not take the write within --wait {graph.wait:g}s ({said}): "
                    "start it or check the network, then run the command again; what was committed stays and the "
                    "re-run completes it") from None
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


_INDEXED = {n.label: indexed_names(n) for n in NODES}


def over_limits(record: RecordRows) -> str | None:
    """Why the database cannot hold ``record`` (see :data:`loader.model.INT64_RANGE` and
    :data:`loader.model.INDEXED_STRING_MAX_BYTES`), naming the node and property, or None."""
    for part in record.parts.values():
        for label, rows in part["nodes"].items():
            indexed = _INDEXED[label]
            for key, props in rows.items():
                if (why := _too_big(key, True)) is not None:
                    return f"{label} {NODE_BY_LABEL[label].key}: {why}"
                for name, value in props.items():
                    if (why := _too_big(value, name in indexed)) is not None:
                        return f"{label} {key[:80]!r} {name}: {why}"
        for (start, rel_type, _), rows in part["rels"].items():
            for row in rows:
                for name, value in row["props"].items():
                    if (why := _too_big(value, False)) is not None:
                        return f"{start} {row['start'][:80]!r} {rel_type} {name}: {why}"
    return None


def _too_big(value, indexed: bool) -> str | None:
    kind = type(value)
    if kind is int:
        if not INT64_RANGE[0] <= value <= INT64_RANGE[1]:
            return f"{value} does not fit the 64-bit integers Neo4j stores"
    elif kind is str:
        if indexed and len(value) * 4 > INDEXED_STRING_MAX_BYTES:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > INDEXED_STRING_MAX_BYTES:
                return f"{size:,} bytes, more than the {INDEXED_STRING_MAX_BYTES:,} an indexed property may hold"
    elif kind is list:
        for item in value:
            if (why := _too_big(item, indexed)) is not None:
                return why
    return None


def write_batch(graph: Graph, records: list[RecordRows]) -> BatchResult:
    """Write records (ids unique within the batch): their shared nodes first, in a short
    transaction of their own, then their trees in one managed transaction.

    Creating an endpoint locks its key until commit. Inside the long transaction, every
    concurrent writer whose batch names the same new user would wait for that whole batch
    (at the start of a tenant's backfill, all of them did); committed apart, the lock lasts
    milliseconds. The shared nodes of records that turn out older or unchanged are checked
    for orphans at the end of the load, like those of replaced trees.

    A record the database cannot hold is rejected alone (``rejected``): those over the known
    limits before anything is written (:func:`over_limits`), and when the database refuses a
    batch anyway (:func:`refusal`), the batch is split in halves, and those again, until the
    records to blame stand alone; the others are written.
    """
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids), "a batch holds each record id once"
    result = BatchResult()
    fit = []
    for record in records:
        reason = over_limits(record)
        if reason is None:
            fit.append(record)
        else:
            result.rejected[record.id] = reason
    _write_or_split(graph, fit, result)
    return result


def _write_or_split(graph: Graph, records: list[RecordRows], result: BatchResult) -> None:
    if not records:
        return
    try:
        result.add(_write(graph, records))
    except Exception as exc:
        reason = refusal(exc)
        if reason is None:
            raise
        if len(records) == 1:
            result.rejected[records[0].id] = reason
            for label, rows in shared_rows(records).items():  # merged before the refused transaction
                key = NODE_BY_LABEL[label].key
                result.unlinked.setdefault(label, set()).update(row[key] for row in rows)
            return
        half = len(records) // 2
        _write_or_split(graph, records[:half], result)
        _write_or_split(graph, records[half:], result)


def _write(graph: Graph, records: list[RecordRows]) -> BatchResult:
    shared = shared_rows(records)
    token = uuid.uuid4().hex  # marks the big records this write has not finished (writeInProgress)
    attempts: list[dict] = []
    created = execute_write(graph, _merge_shared, shared) if shared else 0
    result = execute_write(graph, _write_tx, records, token, attempts)
    for pending in result.pending:
        try:
            _write_chunks(graph, token, *pending)
        except Refused as exc:  # the record stays marked incomplete; the others are written
            rid = pending[0]
            result.outcomes.pop(rid, None)
            result.rejected[rid] = exc.reason
    result.pending = []
    result.elements += created
    return result
def shared_rows(records: list[RecordRows]) -> dict[str, list]:
    """A batch's shared nodes (endpoints, relays) by label, merged by key and sorted by it, so
    that all writers lock them in the same order: they may wait for each other, never deadlock."""
    merged: dict[str, dict] = {}
    for record in records:
        for part in record.parts:
            for label, rows in record.part_nodes(part).items():
                node = NODE_BY_LABEL[label]
                if not node.owned:
                    by_key = merged.setdefault(label, {})
                    for key, props in rows.items():
                        by_key.setdefault(key, {node.key: key}).update(props)
    return {label: [rows[key] for key in sorted(rows)] for label, rows in merged.items()}


def _merge_shared(tx: neo4j.Transaction, shared: dict[str, list]) -> int:
    """Merge the batch's shared nodes; returns how many were new (an earlier batch made the rest)."""
    created = 0
    for label in _SHARED_ORDER:
        if label in shared:
            created += tx.run(_node_statement(label), rows=Rows(shared[label])).consume().counters.nodes_created
    return created


# The record's writeInProgress and key, by position in its row's values (see _values)
_IN_PROGRESS = stored_names(CALL_RECORD_NODE).index("writeInProgress")
_KEY_AT = stored_names(CALL_RECORD_NODE).index(CALL_RECORD_NODE.key)
_SESSIONS = _CHILDREN[_ROOT][0]
assert _CHILDREN[_ROOT] == [_SESSIONS], "a big record is written in chunks of the one kind of child it has"


def _write_tx(tx: neo4j.Transaction, records: list[RecordRows], token: str,
              attempts: list[dict]) -> BatchResult:
    stored, in_progress, big_stored = {}, set(), set()
    for row in tx.run(LOCK_VERSIONS, ids=Rows(sorted(r.id for r in records))):
        if not row["new"]:
            stored[row["id"]] = held_of(row)
            if row["inProgress"] is not None:
                in_progress.add(row["id"])
            if (row["sessionCount"] or 0) > _BIG_SESSIONS:
                big_stored.add(row["id"])
    result = BatchResult()
    nodes: dict[str, dict] = {}  # owned label -> key -> props
    rels: dict[tuple, list] = {}
    replaced = []
    clear_later = set()
    for record in records:
        outcome, parts = decide(record.held, stored.get(record.id))
        if record.id in in_progress and outcome in (UNCHANGED, COMPLETED):
            # the same version, whose writing another load began: interrupted, or taken over from it
            outcome, parts = NEW, list(record.parts)
        result.outcomes[record.id] = outcome
        if outcome == REPLACED or record.id in in_progress and outcome == NEW:
            replaced.append(record.id)
            if record.id in big_stored:  # too big to delete in this transaction: cleared in pieces after it
                clear_later.add(record.id)
        for part in record.parts:
            if part in parts:
                continue
            for label, rows in record.part_nodes(part).items():
                if not NODE_BY_LABEL[label].owned:  # merged before this transaction, but not linked
                    result.unlinked.setdefault(label, set()).update(rows)  # checked for orphans at the end
        for part in parts:
            for label, rows in record.part_nodes(part).items():
                if not NODE_BY_LABEL[label].owned:
                    continue
                merged = nodes.setdefault(label, {})
                key_name = NODE_BY_LABEL[label].key
                for key, props in rows.items():
                    if key in merged:  # the record node again, from another part
                        merged[key].update(props)
                    else:  # the transform's own dict, given its key (no copy: this is the hot loop)
                        props[key_name] = key
                        merged[key] = props
            for rel, rows in record.part_rels(part).items():
                rels.setdefault(rel, []).extend(rows)

    if replaced:
        for row in tx.run(_SHARED_OF, ids=Rows(replaced)):
            result.unlinked.setdefault(row["label"], set()).add(row["key"])
        tx.run(_CLEAR_RECORDS, ids=Rows([rid for rid in replaced if rid not in clear_later])).consume()
    rows, extras, written = tree_rows(nodes, rels)
    # A big record: its sessions in transactions of their own after this one, marked writeInProgress
    # until they are all in; when it replaces a big tree, the old one is deleted in pieces first and
    # the record's own row written after that.
    big = {r.id for r in records if r.element_count > CHUNK_ELEMENTS} | clear_later
    for row in rows if big else ():
        rid = row["values"][_KEY_AT]
        if rid in clear_later or rid in big and row.get(_SESSIONS):
            row["values"][_IN_PROGRESS] = token
            chunks = _chunks(row.pop(_SESSIONS, None) or [])
            result.pending.append((rid, row["values"], extras, chunks, row if rid in clear_later else None))
    if clear_later:
        rows = [row for row in rows if row["values"][_KEY_AT] not in clear_later]
        tx.run(_MARK, ids=Rows(sorted(clear_later)), token=token).consume()
    if rows:
        tx.run(_tree_statement(extras, any(link in rels for link in _PLACEMENT_LINKS)), rows=Rows(rows)).consume()
        result.elements += written
    for rel in _REL_ORDER:
        rows = rels.get(rel)
        if rows:
            tx.run(_rel_statement(*rel), rows=Rows(rows)).consume()
            result.elements += len(rows)
    # A retry after a commit whose answer was lost finds its own records stored: they count as
    # what the attempt that wrote them decided, not as unchanged.
    for earlier in attempts:
        for rid, outcome in earlier.items():
            if result.outcomes.get(rid) == UNCHANGED and outcome in (NEW, REPLACED, COMPLETED):
                result.outcomes[rid] = outcome
    attempts.append(dict(result.outcomes))
    return result


def _chunks(rows: list[dict]) -> list[list[dict]]:
    """Tree rows in runs of about CHUNK_ELEMENTS nodes and relationships each (at least one row)."""
    if not rows:
        return []
    chunks: list[list[dict]] = [[]]
    size = 0
    for row in rows:
        n = _elements(row)
        if chunks[-1] and size + n > CHUNK_ELEMENTS:
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += n
    return chunks


def _elements(row: dict) -> int:
    """The nodes and relationships a tree row makes: itself and its edge from its parent, its
    links to shared nodes, its children."""
    return 2 + sum(len(value) if "end" in value[0] else sum(map(_elements, value))
                   for name, value in row.items() if name != "values" and type(value) is list and value)


_LOCK_RECORD = REPLAN_SKIP + """
MATCH (c:CallRecord {id: $id}) SET c._lock = true REMOVE c._lock RETURN c.writeInProgress AS token
"""
_FINISHED = REPLAN_SKIP + "MATCH (c:CallRecord {id: $id}) REMOVE c.writeInProgress"
_MARK = REPLAN_SKIP + "UNWIND $ids AS id MATCH (c:CallRecord {id: id}) SET c.writeInProgress = $token"
# A stored record's sessions more than this many: its tree is deleted in pieces when replaced
_BIG_SESSIONS = CHUNK_ELEMENTS // 20
_CLEAR_SOME = REPLAN_SKIP + f"""
MATCH (:CallRecord {{id: $id}})-[:CONTAINS]->(s) WITH s LIMIT {_BIG_SESSIONS}
CALL (s) {{ MATCH (s)-[:CONTAINS*0..{_TREE_DEPTH - 1}]->(x) DETACH DELETE x }}
RETURN count(*) AS deleted
"""
_CLEAR_RECORD = REPLAN_SKIP + """
MATCH (c:CallRecord {id: $id}) CALL (c) { MATCH (c)-[r]->() DELETE r } SET c = {id: c.id, writeInProgress: $token}
"""


def _write_chunks(graph: Graph, token: str, rid: str, values: list, extras: bool, chunks: list,
                  head: dict | None) -> None:
    """A big record's sessions, in chunks, each in a transaction of its own (in halves when the
    server has not the memory for it); the last one clears writeInProgress. With ``head`` (the
    record's own row), the stored tree it replaces is deleted first, in pieces, then ``head``
    written."""
    if head is not None:
        while (deleted := execute_write(graph, _clear_tx, token, rid)) is not None and deleted:
            pass
        if deleted is None or not execute_write(graph, _head_tx, token, rid, head, extras, not chunks):
            return
    elif not chunks:
        return
    for i, chunk in enumerate(chunks):
        if not _write_chunk(graph, token, rid, values, extras, chunk, i == len(chunks) - 1):
            return


def _write_chunk(graph, token, rid, values, extras, sessions, last) -> bool:
    """One chunk, in halves when the server has not the memory for it; False when another load
    has taken the record over (it writes the record whole again)."""
    try:
        return execute_write(graph, _chunk_tx, token, rid, values, extras, sessions, last)
    except Refused:
        if len(sessions) == 1:
            raise
        half = len(sessions) // 2
        return (_write_chunk(graph, token, rid, values, extras, sessions[:half], False)
                and _write_chunk(graph, token, rid, values, extras, sessions[half:], last))


def _clear_tx(tx, token, rid) -> int | None:
    """Delete some of the replaced tree's sessions; 0 once none are left (then the record is
    emptied too), None when another load has taken the record over."""
    held = tx.run(_LOCK_RECORD, id=rid).single()
    if held is None or held["token"] != token:
        return None
    deleted = tx.run(_CLEAR_SOME, id=rid).single()["deleted"]
    if not deleted:
        tx.run(_CLEAR_RECORD, id=rid, token=token).consume()
    return deleted


def _head_tx(tx, token, rid, head, extras, last) -> bool:
    held = tx.run(_LOCK_RECORD, id=rid).single()
    if held is None or held["token"] != token:
        return False
    tx.run(_tree_statement(extras, True), rows=Rows([head])).consume()
    if last:
        tx.run(_FINISHED, id=rid).consume()
    return True


def _chunk_tx(tx, token, rid, values, extras, sessions, last) -> bool:
    held = tx.run(_LOCK_RECORD, id=rid).single()
    if held is None or held["token"] != token:
        return False
    tx.run(_tree_statement(extras, True), rows=Rows([{"values": values, _SESSIONS: sessions}])).consume()
    if last:
        tx.run(_FINISHED, id=rid).consume()
    return True


def tree_rows(nodes: dict, rels: dict) -> tuple[list[dict], bool, int]:
    """A batch's records as :func:`_tree_statement` takes them, each row holding the rows of its
    children by label: the node's property values, its links to shared nodes by relationship
    type. Also whether any row or link has members the model does not know (then under
    ``extra``), and how many nodes and relationships the rows make."""
    extras, written = False, 0
    rows_of: dict = {}  # label -> key -> row
    for label in _TREE_ORDER:
        names, known = _NAMES[label]
        rows = rows_of[label] = {key: _row(props, names, known) for key, props in nodes.get(label, {}).items()}
        extras = extras or any("extra" in row for row in rows.values())
        written += len(rows)
        if label in _PARENT:
            parents = rows_of[_PARENT[label]]
            contains = rels.get((_PARENT[label], "CONTAINS", label), [])
            for edge in contains:
                parents[edge["start"]].setdefault(label, []).append(rows[edge["end"]])
            written += len(contains)
        for rel in _LINKS[label]:
            names, known = _NAMES[(label, rel.type)]
            links = rels.get((label, rel.type, rel.end), [])
            for link in links:
                link_row = _row(link["props"], names, known, end=link["end"])
                extras = extras or "extra" in link_row
                rows[link["start"]].setdefault(rel.type, []).append(link_row)
            written += len(links)
    return list(rows_of[_ROOT].values()), extras, written


def _row(props: dict, names: list, known: frozenset, **fields) -> dict:
    """``fields`` plus ``values``: ``props`` in the model's order (see :func:`_values`), and
    ``extra``: the members the model does not name, when there are any."""
    row = dict(fields, values=list(map(props.get, names)))
    if not known.issuperset(props):
        row["extra"] = {name: value for name, value in props.items() if name not in known}
    return row


def delete_all_orphans(graph: Graph) -> dict[str, int]:
    """Remove every shared node of a call tree (endpoint, relay) that nothing links to: those an
    interrupted load merged before its records' trees were written. By label, how many. Run it
    when no load is running: a load links its shared nodes just after it merged them."""
    deleted = {}
    with graph.session() as session:
        for label in _SHARED_LINKED:
            deleted[label] = session.run(
                f"MATCH (s:{label}) WHERE NOT EXISTS {{ (s)--() }} "
                "CALL (s) { DELETE s } IN TRANSACTIONS OF 1000 ROWS RETURN count(s) AS n").single()["n"]
    return deleted


def delete_orphans(graph: Graph, unlinked: dict) -> None:
    """Remove the shared nodes among ``unlinked`` (label -> keys) that nothing links to any more.

    Run once the writers are done, not inside a writer's transaction: there, a node the old
    version alone used could be removed while a concurrent transaction links a new call to it.
    """
    def work(tx):
        for label, keys in unlinked.items():
            key = NODE_BY_LABEL[label].key
            tx.run(f"UNWIND $keys AS k MATCH (s:{label} {{{key}: k}}) WHERE NOT EXISTS {{ (s)--() }} DELETE s",
                   keys=Rows(sorted(keys))).consume()

    if unlinked:
        execute_write(graph, work)

