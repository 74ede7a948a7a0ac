"""`callgraph fetch` and `callgraph sync`: pull call records from Microsoft Graph (issue 3)."""

from .cli import main, neo4j_options  # noqa: F401
