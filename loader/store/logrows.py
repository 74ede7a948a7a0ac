"""PSTN and Direct Routing log rows: merged by id with their user and SBC, then linked to call
records where the evidence allows."""

from __future__ import annotations

from ..model import NODE_BY_LABEL
from .connection import Graph, Rows
from .write import GONE_TRIES, datetimes_set, gone

_LOG_ROWS = """
UNWIND $rows AS row
MERGE (n:{label} {{id: row.props.id}}) SET n += row.props{datetimes}
WITH n, row
CALL (n, row) {{
  WITH n, row WHERE row.user IS NOT NULL
  MERGE (u:Endpoint {{key: row.user.key}}) ON CREATE SET u += row.user.props
  MERGE (n)-[:FOR_USER]->(u)
}}
CALL (n, row) {{
  WITH n, row WHERE row.sbc IS NOT NULL
  MERGE (s:Sbc {{fqdn: row.sbc}})
  MERGE (n)-[:VIA_SBC]->(s)
}}
"""


def write_log_rows(graph: Graph, rows: list) -> int:
    """Merge PSTN / Direct Routing rows (transform_pstn.LogRow) by id, with their user and SBC links."""
    by_label: dict[str, list] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append({"props": row.props, "user": row.user, "sbc": row.sbc})

    def tx_work(tx):
        for label, batch in by_label.items():
            statement = _LOG_ROWS.format(label=label, datetimes=datetimes_set(NODE_BY_LABEL[label], "row.props"))
            tx.run(statement, rows=Rows(batch)).consume()

    for tries_left in reversed(range(GONE_TRIES)):
        try:
            with graph.session() as session:
                session.execute_write(tx_work)
            break
        except Exception as exc:  # an endpoint removed as unlinked by another load's end while this one merged it
            if not (gone(exc) and tries_left):
                raise
    return len(rows)


_LINK_BY_ID = """
MATCH (r:PstnCall|DirectRoutingCall) WHERE r.startDateTime >= $since AND r.startDateTime < $until
  AND NOT EXISTS { (r)-[:PART_OF]->() }
UNWIND [x IN [r.id, r.callId, r.correlationId] WHERE x IS NOT NULL] AS candidate
MATCH (c:CallRecord {id: candidate})
WITH r, collect(DISTINCT c) AS records WHERE size(records) = 1
WITH r, records[0] AS c
CREATE (r)-[:PART_OF {matchedBy: 'id'}]->(c)
RETURN count(*) AS linked
"""

_LINK_BY_USER_AND_TIME = """
MATCH (r:PstnCall|DirectRoutingCall) WHERE r.startDateTime >= $since AND r.startDateTime < $until
  AND r.userId IS NOT NULL AND NOT EXISTS { (r)-[:PART_OF]->() }
MATCH (u:Endpoint {key: 'user:' + r.userId})
CALL (u) {
  MATCH (u)<-[:ORGANIZED_BY|PARTICIPANT]-(c:CallRecord) RETURN c
  UNION
  MATCH (u)<-[:CALLER|CALLEE]-(:Session)<-[:CONTAINS]-(c:CallRecord) RETURN c
}
WITH r, c, duration({seconds: $tolerance}) AS slack
WHERE c.startDateTime - slack <= r.startDateTime <= coalesce(c.endDateTime, c.startDateTime) + slack
WITH r, collect(DISTINCT c) AS records WHERE size(records) = 1
WITH r, records[0] AS c
CREATE (r)-[:PART_OF {matchedBy: 'userTimeWindow', toleranceSeconds: $tolerance,
                      startOffsetSeconds: duration.inSeconds(c.startDateTime, r.startDateTime).seconds}]->(c)
RETURN count(*) AS linked
"""


def link_log_rows(graph: Graph, since, until, tolerance_seconds: int) -> dict:
    """Link unlinked rows that started in [since, until) to a call record, where the evidence allows.

    First by id (a row id, callId or correlationId that is a record id), then by the row's
    user taking part in exactly one record whose time span holds the row's start. Rows with
    no candidate, or several, stay unlinked: a wrong edge is worse than none. Run again, it
    links rows whose record arrived since (records appear up to 150 min after a call).
    """
    with graph.session() as session:
        by_id = session.execute_write(lambda tx: tx.run(_LINK_BY_ID, since=since, until=until).single()["linked"])
        by_time = session.execute_write(lambda tx: tx.run(
            _LINK_BY_USER_AND_TIME, since=since, until=until, tolerance=tolerance_seconds).single()["linked"])
    return {"id": by_id, "userTimeWindow": by_time}
