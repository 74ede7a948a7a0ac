"""callgraph: Microsoft Teams call records (Graph callRecords) as a Neo4j graph.

The pipeline, one module each: source (read Graph JSON) -> transform (pure rows by the
graph model) -> write (the one database write path) -> query (saved Cypher).
"""

__version__ = "0.1.0"
