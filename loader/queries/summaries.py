"""Summaries: the saved aggregates' whole results, kept in the graph between loads.

Without a time window an aggregate (shared-relays, poor-subnets, who-calls-whom, ...) reads
every call record, so its time grows with the data: about a second per 100,000 calls on two
cores. ``callgraph summarize`` runs each summarized query once over every call, with the
parameters that keep every row (its header's ``summary:`` line), and stores the rows in
order as SummaryRow nodes. While no load has written call records since, the query's run
without a window reads those rows instead, in a time that does not grow with the calls; a
window (``since``/``until``) or ``fresh = true`` reads the calls as before.

Whether the rows are current is one node, ``(:Summaries {id: 'all'})``: a load raises its
``dataVersion`` when it starts writing and again when it ends (:func:`mark_calls_changed`),
and a build records the version it read before it started (``builtFor``). So a load that
ends while a build runs leaves that build stale, and a load that dies half-way has already
made the old one stale. The saved queries compare the two themselves, so Neo4j Browser gets
the same answers as ``callgraph query``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from neo4j.exceptions import ClientError
from neo4j.time import DateTime

from ..errors import QueryError
from ..store.connection import Graph, Rows

if TYPE_CHECKING:  # a load marks the summaries stale and needs no saved query
    from .saved import SavedQuery

# What a summarized query is run with besides its summary: line: every call, every row.
EVERY_ROW = {"since": None, "until": None, "fresh": True, "limit": 2**62}
_RESERVED = ("key", "query", "rank")  # SummaryRow's own properties; no result column may take them
ROWS_PER_TRANSACTION = 5000

_MARK = "MATCH (s:Summaries {id: 'all'}) SET s.dataVersion = s.dataVersion + 1"
_START = """
MERGE (s:Summaries {id: 'all'})
SET s.dataVersion = coalesce(s.dataVersion, 0), s.builtFor = null
RETURN s.dataVersion AS version
"""
_CLEAR = "MATCH (r:SummaryRow) CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
_WRITE = "UNWIND $rows AS row CREATE (r:SummaryRow) SET r = row"
_FINISH = """
MATCH (s:Summaries {id: 'all'})
SET s.builtFor = $version, s.builtAt = datetime(), s.callRecords = COUNT { (:CallRecord) }
"""
_STATE = """
OPTIONAL MATCH (s:Summaries {id: 'all'})
RETURN s IS NOT NULL AS exists, coalesce(s.builtFor = s.dataVersion, false) AS current,
       s.builtAt AS builtAt, s.callRecords AS callRecords
"""


@dataclass(frozen=True)
class State:
    exists: bool  # summarize has run on this database
    current: bool  # and no load has written call records since
    built_at: DateTime | None
    call_records: int | None


def state(graph: Graph) -> State:
    with graph.session(read=True) as session:
        row = session.run(_STATE).single()
    return State(row["exists"], row["current"], row["builtAt"], row["callRecords"])


def mark_calls_changed(graph: Graph) -> None:
    """Make the summaries stale (a no-op on a database that has none): a load calls this when
    it starts writing and when it ends."""
    with graph.session() as session:
        session.execute_write(lambda tx: tx.run(_MARK).consume())


def summarized_queries() -> list[SavedQuery]:
    from .saved import load_all

    return [q for q in load_all().values() if q.summary is not None]


def summarize(graph: Graph, on_query: Callable[[str, int, float], None] | None = None) -> dict[str, int]:
    """Rebuild every summarized query's rows; returns rows per query.

    The saved queries read the calls while the build runs (``builtFor`` is cleared first),
    and each query's rows are written in transactions of ROWS_PER_TRANSACTION.
    """
    from .saved import refused

    queries = summarized_queries()
    counts = {}
    with graph.session() as session:
        version = session.execute_write(lambda tx: tx.run(_START).single()["version"])
        session.run(_CLEAR).consume()
        for q in queries:
            started = time.monotonic()
            params = {p.name: p.default for p in q.params} | q.summary | EVERY_ROW
            try:
                columns, rows = session.execute_read(lambda tx: _read(tx, q, params))
            except ClientError as exc:
                raise refused(q, exc) from None
            clash = [c for c in columns if c in _RESERVED]
            if clash:
                raise QueryError(f"{q.path.name}: result column {clash[0]!r} is a SummaryRow property; rename it")
            for start in range(0, len(rows), ROWS_PER_TRANSACTION):
                chunk = Rows({"key": f"{q.name}:{rank}", "query": q.name, "rank": rank,
                              **{c: v for c, v in zip(columns, values) if v is not None}}
                             for rank, values in enumerate(rows[start:start + ROWS_PER_TRANSACTION], start + 1))
                session.execute_write(lambda tx: tx.run(_WRITE, rows=chunk).consume())
            counts[q.name] = len(rows)
            if on_query:
                on_query(q.name, len(rows), time.monotonic() - started)
        session.execute_write(lambda tx: tx.run(_FINISH, version=version).consume())
    return counts


def _read(tx, q: SavedQuery, params: dict) -> tuple[list[str], list[list]]:
    result = tx.run(q.text, params)
    return list(result.keys()), [record.values() for record in result]
