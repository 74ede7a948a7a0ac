"""Schema: the constraints and indexes the model asks for, created where missing."""

from __future__ import annotations

from neo4j.exceptions import ClientError

from ..model import NODES
from .connection import Graph

def schema_statements() -> dict[str, str]:
    """Constraints on every key, indexes for the saved queries, by name; all idempotent."""
    statements = {}
    for node in NODES:
        name = f"{node.label.lower()}_{node.key}"
        statements[name] = f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{node.label}) REQUIRE n.{node.key} IS UNIQUE"
        for props in node.index_columns():
            name = f"{node.label.lower()}_{'_'.join(props)}"
            on = ", ".join(f"n.{prop}" for prop in props)
            statements[name] = f"CREATE INDEX {name} IF NOT EXISTS FOR (n:{node.label}) ON ({on})"
    return statements


def ensure_schema(graph: Graph) -> list[str]:
    """Create what is missing (schema changes run one per auto-commit transaction).

    The names present are read first, so on a database that has them all (every load but
    the first) this is two quick reads instead of twenty schema statements.
    """
    statements = schema_statements()
    with graph.session() as session:
        try:
            present = {row["name"] for show in ("CONSTRAINTS", "INDEXES")
                       for row in session.run(f"SHOW {show} YIELD name RETURN name")}
        except ClientError:  # a role that may not list the schema: create it all, idempotently
            present = set()
        missing = [statement for name, statement in statements.items() if name not in present]
        for statement in missing:
            session.run(statement).consume()
        if missing:
            session.run("CALL db.awaitIndexes(300)").consume()
    return list(statements.values())

