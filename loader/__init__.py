"""callgraph: Microsoft Teams call records (Graph callRecords) as a Neo4j graph.

The way a record travels, one package each:

- :mod:`loader.ingest`: read files (:mod:`~loader.ingest.files`), Graph JSON to a typed record
  tree (:mod:`~loader.ingest.transform`, :mod:`~loader.ingest.tree`), PSTN log rows;
- :mod:`loader.msgraph`: sign-in, the HTTP client with Graph's limits, fetch and sync;
- :mod:`loader.store`: the connection, schema, the one write path, versions, sync state, export;
- :mod:`loader.queries`: the saved Cypher queries and their summaries;
- :mod:`loader.cli`: the ``callgraph`` commands, thin wrappers over the above.

:mod:`loader.model` is the graph model every stage follows; :mod:`loader.errors` the errors
a user sees. The public API is below; it is imported on first use, so ``import loader``
stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module that defines it
_API = {
    "connect": "loader.store.connection", "Graph": "loader.store.connection",
    "ensure_schema": "loader.store.schema",
    "load_records": "loader.store.load", "items_from_paths": "loader.store.load", "Summary": "loader.store.load",
    "export_neo4j_admin": "loader.store.export",
    "transform_record": "loader.ingest.transform", "RecordError": "loader.ingest.transform",
    "RecordRows": "loader.ingest.tree",
    "decide": "loader.store.versions",
    "load_all": "loader.queries.saved", "find": "loader.queries.saved", "run": "loader.queries.saved",
    "summarize": "loader.queries.summaries",
    "generate": "loader.demo",
    "CallgraphError": "loader.errors", "UsageError": "loader.errors", "InputError": "loader.errors",
    "ParameterError": "loader.errors", "QueryError": "loader.errors", "DatabaseError": "loader.errors",
    "GraphError": "loader.errors",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'loader' has no attribute {name!r}")
