"""Sync state: what is stored (sync's skip test) and each tenant's watermark."""

from __future__ import annotations

from .connection import Graph
from .versions import Held
from .write import READ_VERSIONS, held_of


def stored_versions(graph: Graph, ids: list[str]) -> dict[str, Held]:
    """The version of each record held, by id (sync's skip test)."""
    with graph.session(read=True) as session:
        return session.execute_read(lambda tx: {r["id"]: held_of(r) for r in tx.run(READ_VERSIONS, ids=ids)})


def read_sync_state(graph: Graph, tenant_id: str) -> dict | None:
    with graph.session(read=True) as session:
        record = session.run("MATCH (s:SyncState {tenantId: $t}) RETURN properties(s) AS s", t=tenant_id).single()
    return record["s"] if record else None


def save_sync_state(graph: Graph, tenant_id: str, props: dict) -> None:
    """Set the tenant's SyncState properties (None removes one)."""
    with graph.session() as session:
        session.execute_write(lambda tx: tx.run(
            "MERGE (s:SyncState {tenantId: $t}) SET s += $props", t=tenant_id, props=props).consume())

