"""A meeting of 10,000 sessions under a 256 MB per-transaction limit, and the cost of the orphan
sweep every load ends with (issue 17). Prints the figures; with --write, puts them into
docs/benchmarks.md under their own heading (replacing an earlier run's).

    .venv/bin/python bench/big_meeting.py [--sessions 10000] [--endpoints 100000] [--write docs/benchmarks.md]

It runs its own Neo4j (home .neo4j-bench-meeting, Bolt 37689) through scripts/neo4j with
NEO4J_TRANSACTION_MAX=256m (db.memory.transaction.max), emptied first; generates one meeting
(a generated group call whose sessions are repeated until it has --sessions of them), loads it
with `callgraph load`, checks it landed whole (every session, no writeInProgress), and reports
the load's wall time and peak RSS. Then it adds --endpoints linked endpoints and 1,000 unlinked
ones and times :func:`loader.store.write.delete_all_orphans`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loader.demo import generate  # noqa: E402
from loader.store.connection import connect  # noqa: E402
from loader.store.write import delete_all_orphans  # noqa: E402

HOME = REPO / ".neo4j-bench-meeting"
BOLT, PASSWORD = 37689, "callgraph-bench"
URI = f"neo4j://127.0.0.1:{BOLT}"
TRANSACTION_MAX = "256m"
ENV = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(HOME), NEO4J_BOLT_PORT=str(BOLT), NEO4J_HTTP_PORT="37476",
           NEO4J_PASSWORD=PASSWORD, CALLGRAPH_NEO4J_MODE="maven", NEO4J_URI=URI, NEO4J_USERNAME="neo4j",
           NEO4J_DATABASE="neo4j", NEO4J_TRANSACTION_MAX=TRANSACTION_MAX)
AS_OF = date(2026, 11, 9)
HEADING = "## A 10,000-session meeting under a 256 MB transaction limit; the orphan sweep (bench/big_meeting.py)"


def neo4j(*args: str) -> None:
    subprocess.run([str(REPO / "scripts" / "neo4j"), *args], env=ENV, check=True, stdout=subprocess.DEVNULL)


def meeting(sessions: int) -> dict:
    record = next(r for r in generate(300, seed=3, as_of=AS_OF) if r["type"] == "groupCall" and len(r["sessions"]) > 3)
    return dict(record, sessions=[copy.deepcopy(record["sessions"][i % len(record["sessions"])])
                                  for i in range(sessions)])


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stderr of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{argv[:4]} failed: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=100_000)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()

    path = REPO / ".bench-data" / f"meeting-{args.sessions}.json"
    path.parent.mkdir(exist_ok=True)
    record = meeting(args.sessions)
    path.write_text(json.dumps(record, separators=(",", ":")))
    size_mb = path.stat().st_size / 1e6
    print(f"meeting of {args.sessions:,} sessions: {size_mb:.1f} MB of JSON")

    neo4j("start")
    try:
        with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as s:
            s.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 1000 ROWS").consume()
            s.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 1000 ROWS").consume()
            limit = s.run("SHOW SETTINGS YIELD name, value WHERE name = 'db.memory.transaction.max' "
                          "RETURN value").single()["value"]
        print(f"server db.memory.transaction.max = {limit}")
        seconds, rss, err = timed([sys.executable, "-c", "from loader.cli import main; main()", "load", "-q", str(path)])
        summary = err.strip().splitlines()[-1]
        print(f"load: {seconds:.1f} s, peak RSS {rss:.0f} MiB; {summary}")
        with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as s:
            stored = s.run("MATCH (c:CallRecord {id: $id}) RETURN c.sessionCount AS count, "
                           "c.writeInProgress AS marker, COUNT { (c)-[:CONTAINS]->(:Session) } AS sessions, "
                           "COUNT { (c)-[:CONTAINS*4]->(:Stream) } AS streams", id=record["id"]).single().data()
            elements = s.run("MATCH (n) RETURN count(n) AS n").single()["n"] + \
                s.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"]
        whole = stored["count"] == stored["sessions"] == args.sessions and stored["marker"] is None
        print(f"stored: {stored['sessions']:,} sessions, {stored['streams']:,} streams, {elements:,} elements; "
              f"{'whole' if whole else 'NOT WHOLE'}")

        # the sweep: linked endpoints (one relationship each), plus 1,000 left unlinked
        with connect(URI, "neo4j", PASSWORD, "neo4j") as graph:
            with graph.session() as s:
                s.run("UNWIND range(1, $n) AS i CALL (i) { CREATE (:Endpoint {key: 'bench:' + i})<-[:ORGANIZED_BY]-"
                      "(:CallRecord {id: 'bench-' + i}) } IN TRANSACTIONS OF 10000 ROWS", n=args.endpoints).consume()
                s.run("UNWIND range(1, 1000) AS i CREATE (:Endpoint {key: 'bench-orphan:' + i})").consume()
            sweeps = []
            for _ in range(3):
                started = time.perf_counter()
                deleted = delete_all_orphans(graph)
                sweeps.append((time.perf_counter() - started, deleted["Endpoint"]))
            with graph.session() as s:
                endpoints = s.run("MATCH (e:Endpoint) RETURN count(e) AS n").single()["n"]
        print(f"orphan sweep over {endpoints:,} endpoints: "
              + ", ".join(f"{t * 1000:.0f} ms ({n} removed)" for t, n in sweeps))
    finally:
        neo4j("stop")

    if args.write:
        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        section = f"""{HEADING}

Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()} ({os.cpu_count()} cores, load average
{load_avg} at the end), Neo4j 5.26 from Maven, `db.memory.transaction.max={limit}`.

| what | figure |
|---|---|
| the meeting | 1 record, {args.sessions:,} sessions, {size_mb:.1f} MB of JSON |
| `callgraph load` of it | {seconds:.1f} s wall, peak RSS {rss:.0f} MiB |
| stored | {stored['sessions']:,} sessions, {stored['streams']:,} streams, {elements:,} nodes and relationships; {'whole, no writeInProgress' if whole else 'NOT WHOLE'} |
| the load's summary | `{summary}` |
| orphan sweep at the end of every load, {endpoints:,} endpoints, 1,000 of them unlinked | {sweeps[0][0] * 1000:.0f} ms (removed {sweeps[0][1]:,}); again with none left: {sweeps[1][0] * 1000:.0f}, {sweeps[2][0] * 1000:.0f} ms |
"""
        text = args.write.read_text()
        pattern = re.compile(re.escape(HEADING) + r"\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(section.rstrip("\n"), text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
        args.write.write_text(text)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
