"""The loader a user writes first, kept as the baseline for bench/run.py.

One transaction per call record and one MERGE statement per node and per relationship:
the same graph as `callgraph load` (it reuses the transform, so only the writing differs),
written the way most first scripts write it.
"""

from __future__ import annotations

import json
import sys

from loader.model import NODE_BY_LABEL
from loader.ingest.transform import transform_record
from loader.store.connection import connect


def write_record(tx, rows) -> int:
    written = 0
    for label, node_key, props in rows.node_rows():
        key = NODE_BY_LABEL[label].key
        tx.run(f"MERGE (n:{label} {{{key}: $key}}) SET n += $props", key=node_key, props=props).consume()
        written += 1
    for (start, rel_type, end), rel in rows.rel_rows():
        skey, ekey = NODE_BY_LABEL[start].key, NODE_BY_LABEL[end].key
        tx.run(f"MATCH (a:{start} {{{skey}: $start}}) MATCH (b:{end} {{{ekey}: $end}}) "
               f"MERGE (a)-[r:{rel_type}]->(b) SET r += $props",
               start=rel["start"], end=rel["end"], props=rel["props"]).consume()
        written += 1
    return written


def main(path: str, uri: str, user: str, password: str, limit: int) -> None:
    graph = connect(uri, user, password, "neo4j")
    records = 0
    with open(path) as f, graph.session() as session:
        for line in f:
            if records >= limit:
                break
            rows = transform_record(json.loads(line))
            session.execute_write(write_record, rows)
            records += 1
    graph.close()
    print(records)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
