"""callgraph's benchmark suite: prints each figure and writes docs/benchmarks.md.

    .venv/bin/python bench/run.py            # tenants of 2,000 and 10,000 calls (12 minutes on 2 cores)
    .venv/bin/python bench/run.py --full     # 10,000 and 100,000 calls, the issue's targets (about 20 minutes)

It runs its own Neo4j (home .neo4j-bench, Bolt 37687) through scripts/neo4j, emptied before
each measurement, plus a second one (home .neo4j-bench-small, Bolt 37688) that serves a copy of
the smaller tenant's store while the bigger one's queries run. It compares in the same run on
the same data:

1. load throughput of `callgraph load` against the naive loader (bench/naive_loader.py) and
   against `neo4j-admin database import` of `callgraph export`;
2. peak RSS of `callgraph load` as the input grows;
3. 1,000 new records into the big database against into an empty one;
4. every saved query: median latency, with the summaries `callgraph summarize` keeps and
   without them (``fresh=true``), and what PROFILE shows (scans of big labels);
5. the Rust codec (neo4j-rust-ext) on and off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loader.demo import generate, window_start  # noqa: E402
from loader.queries.saved import load_all  # noqa: E402
from loader.store.connection import connect  # noqa: E402

HOME = REPO / ".neo4j-bench"
DATA = REPO / ".bench-data"
BOLT, PASSWORD = 37687, "callgraph-bench"
URI = f"neo4j://127.0.0.1:{BOLT}"
ENV = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(HOME), NEO4J_BOLT_PORT=str(BOLT), NEO4J_HTTP_PORT="37474",
           NEO4J_PASSWORD=PASSWORD, CALLGRAPH_NEO4J_MODE="maven", NEO4J_URI=URI, NEO4J_USERNAME="neo4j",
           NEO4J_DATABASE="neo4j", NEO4J_HEAP=os.environ.get("NEO4J_HEAP", "2g"),
           NEO4J_PAGECACHE=os.environ.get("NEO4J_PAGECACHE", "4g"))  # the 100,000-record store is 2 GB
BIG_LABELS = ("CallRecord", "Session", "Segment", "Media", "Stream")
AS_OF = date(2026, 11, 9)  # the generated tenants fill the week before, the same every run (and cached file)
DAY_ONE = window_start(AS_OF)  # their first day, for the windowed runs
NO_RUST = "import sys; sys.modules['neo4j._rust'] = None; "  # the driver falls back to pure Python


def neo4j(*args: str, env: dict = ENV) -> None:
    subprocess.run([str(REPO / "scripts" / "neo4j"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


# The smaller tenant's store, copied after its load, runs on a second server while the bigger
# one's queries run, so that the two sizes' latencies are measured side by side.
SIDE_HOME, SIDE_BOLT = REPO / ".neo4j-bench-small", 37688
SIDE_URI = f"neo4j://127.0.0.1:{SIDE_BOLT}"
SIDE_ENV = dict(ENV, CALLGRAPH_NEO4J_HOME=str(SIDE_HOME), NEO4J_BOLT_PORT=str(SIDE_BOLT), NEO4J_HTTP_PORT="37475",
                NEO4J_URI=SIDE_URI)


def keep_store() -> None:
    """Copy the (stopped) bench server's store to the side server's home."""
    shutil.rmtree(SIDE_HOME / "data", ignore_errors=True)
    SIDE_HOME.mkdir(exist_ok=True)
    shutil.copytree(HOME / "data", SIDE_HOME / "data")


SAMPLES = REPO / "samples" / "call-records.jsonl"


# Loads of 1,000 records into a server warmed with 2,000 took 2.97, 2.37, 2.10, 2.18, 1.93, 1.81,
# 1.69 and 1.68 s in a row: the JIT compiler was still at work for the first 8,000 records or so.
# Warmed with 10,000: 1.99, 1.71, 1.80, 1.70, 1.55 and 1.62 s.
WARM_UP_RECORDS = 10_000
SHORT_RUNS = 5  # runs of callgraph's load of the naive loader's slice (a few seconds each)


def fresh_database(naive: bool = False) -> int:
    """An empty database on a warmed-up server; returns the graph elements the warm-up left.

    A freshly started JVM spends its first minute compiling Neo4j's write path (in a profile
    of a 3,000-record load right after start, the JIT compiler threads used more CPU than the
    Bolt worker), which weighs on small loads and says nothing about either loader. So the
    server is started anew, made to write a tenant of its own (10,000 generated calls, seed 99,
    untimed) and emptied again, as a long-running server would be: with callgraph's
    constraints and indexes for callgraph, with none for the naive loader (first scripts
    create none). Then the loader about to be timed writes the four sample records (untimed),
    so its statements are planned.
    """
    neo4j("stop")
    shutil.rmtree(HOME / "data", ignore_errors=True)
    neo4j("start")
    callgraph_load(tenant_file(WARM_UP_RECORDS, seed=99))
    return empty_database(naive)


def empty_database(naive: bool = False) -> int:
    """Empty the database (and drop callgraph's schema for the naive loader), then have the
    loader about to be timed write the four sample records; returns the graph elements left."""
    with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        if naive:  # callgraph's schema stays, as on a server callgraph has loaded before
            for kind, show in (("CONSTRAINT", "CONSTRAINTS"), ("INDEX", "INDEXES")):
                for row in list(s.run(f"SHOW {show} YIELD name, type WHERE type <> 'LOOKUP' RETURN name")):
                    s.run(f"DROP {kind} {row['name']} IF EXISTS").consume()
    if naive:
        timed([sys.executable, str(REPO / "bench" / "naive_loader.py"), str(SAMPLES), URI, "neo4j", PASSWORD, "10"])
    else:
        callgraph_load(SAMPLES)
    return graph_size()


def tenant_file(calls: int, seed: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"tenant-{calls}-seed{seed}.jsonl"
    if not path.exists():
        with open(path, "w") as f:
            for record in generate(calls, seed=seed, as_of=AS_OF):
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def head(path: Path, lines: int) -> Path:
    out = path.with_name(f"{path.stem}-first{lines}.jsonl")
    if not out.exists():
        with open(path) as src, open(out, "w") as dst:
            for _, line in zip(range(lines), src):
                dst.write(line)
    return out


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{argv[:4]} failed: {child.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def callgraph(*args: str, rust: bool = True) -> list[str]:
    """The argv of a `callgraph` command run from this checkout, with or without the Rust codec."""
    return [sys.executable, "-c", ("" if rust else NO_RUST) + "from loader.cli import main; main()", *args]


MAP_NETWORKS = 5_000  # the building data file the bench places the tenants' media lines by


def building_file(networks: int = MAP_NETWORKS) -> Path:
    """The demo's building data file grown to ``networks`` rows: its own rows, then /24 networks
    from 10.64.0.0 up in made-up buildings of 20 networks each (none holds a demo subnet)."""
    from loader.demo import BUILDING_FILE

    path = DATA / f"buildings-{networks}.csv"
    rows = BUILDING_FILE.splitlines()
    for i in range(networks - len(rows)):
        rows.append(f"10.{64 + i // 256}.{i % 256}.0,NET-{i},24,Building {i // 20},Contoso,Office,,City {i // 200},"
                    f",US,,North America,1,0,0")
    DATA.mkdir(exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def callgraph_load(path: Path, rust: bool = True) -> tuple[float, float]:
    return timed(callgraph("load", "-q", str(path), rust=rust))


def graph_size() -> int:
    with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as s:
        nodes = s.run("MATCH (n) RETURN count(n) AS n").single()["n"]
        rels = s.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"]
    return nodes + rels


def admin_import(path: Path) -> dict:
    out = DATA / f"export-{path.stem}"
    shutil.rmtree(out, ignore_errors=True)
    export_s, _ = timed(callgraph("export", str(path), "--out", str(out)))
    args = []
    for csv in sorted(out.glob("*.csv")):
        name = csv.stem
        args.append(f"--relationships={name.split('__')[0]}={csv}" if "__" in name else f"--nodes={name}={csv}")
    neo4j("stop")
    shutil.rmtree(HOME / "data", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([str(REPO / "scripts" / "neo4j"), "admin", "database", "import", "full", "neo4j",
                    "--overwrite-destination", "--array-delimiter=;", "--multiline-fields=true",
                    f"--report-file={DATA / 'import.report'}", *args],
                   env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import_s = time.perf_counter() - started
    neo4j("start")
    return {"export_s": export_s, "import_s": import_s, "elements": graph_size()}


def query_latencies(uris: dict, warm_ups: int = 2, runs: int = 7) -> dict:
    """Per size (``uris``: size -> server) and saved query: the first run's ms, the median of
    ``runs`` after ``warm_ups``, the median with a one-day window where the query takes
    ``since``/``until``, the median with ``fresh=true`` where the query is summarized (every
    call read, the summaries ignored), and the big-label scans that PROFILE shows with the
    window (without one, an aggregate reads every call by design, or its summary rows).

    Three passes over the saved queries: the first runs (cold page cache), a pass that runs
    each query twice with and without the window (Neo4j's JIT compiler warms to the operators
    every query uses, as on a server in use: a query measured early in a freshly started server
    took up to 3 times its later time), then the measurements. The sizes take turns run by run,
    so a busy moment of the machine falls on both alike: on this shared machine one size's
    medians, measured minutes apart from the other's, moved by up to 40 % between full runs.
    Called on servers restarted after their loads: right after a big load Neo4j is still
    checkpointing it, and an aggregate's first runs over a cold page cache took up to 4 times
    its steady time.
    """
    graphs = {n: connect(uri, "neo4j", PASSWORD, "neo4j") for n, uri in uris.items()}
    sessions = {n: g.session() for n, g in graphs.items()}
    results: dict = {n: {} for n in uris}
    try:
        queries = list(load_all().values())
        params = {n: sample_params(s) for n, s in sessions.items()}
        plain, window, fresh = {}, {}, {}  # query name -> size -> parameters
        for q in queries:
            plain[q.name] = {n: q.bind({p.name: params[n][p.name] for p in q.params if p.required}) for n in uris}
            if {"since", "until"} <= {p.name for p in q.params}:
                window[q.name] = {n: {**b, "since": DAY_ONE, "until": DAY_ONE + timedelta(days=1)}
                                  for n, b in plain[q.name].items()}
            if q.summary is not None:  # plain reads the summaries; fresh=true reads every call
                fresh[q.name] = {n: {**b, "fresh": True} for n, b in plain[q.name].items()}
        for q in queries:
            for n, s in sessions.items():
                started = time.perf_counter()
                s.run(q.text, plain[q.name][n]).consume()
                results[n][q.name] = {"first_ms": (time.perf_counter() - started) * 1000}
        for q in queries:
            for bound in (plain[q.name], window.get(q.name), fresh.get(q.name)):
                if bound:
                    run_in_turn(sessions, q.text, bound, times=2)
        for q in queries:
            for n, ms in medians_ms(sessions, q.text, plain[q.name], warm_ups, runs).items():
                results[n][q.name]["median_ms"] = ms
            for figure, bound in (("window_ms", window), ("fresh_ms", fresh)):
                if q.name in bound:
                    for n, ms in medians_ms(sessions, q.text, bound[q.name], warm_ups, runs).items():
                        results[n][q.name][figure] = ms
            for n, s in sessions.items():
                profile = s.run("PROFILE " + q.text, window.get(q.name, plain[q.name])[n]).consume().profile
                results[n][q.name]["scans"] = sorted(set(_scans(profile)))
    finally:
        for n in uris:
            sessions[n].close()
            graphs[n].close()
    return results


def sample_params(session) -> dict:
    """Values for the required parameters: a call with a two-segment session, and a user."""
    some_call = session.run("MATCH (c:CallRecord)-[:CONTAINS]->(:Session {segmentCount: 2}) "
                            "RETURN c.id AS id ORDER BY id LIMIT 1").single()["id"]
    some_user = session.run("MATCH (e:Endpoint {kind: 'user'}) RETURN e.userPrincipalName AS u "
                            "ORDER BY u LIMIT 1").single()["u"]
    return {"callRecordId": some_call, "user": some_user}


def run_in_turn(sessions: dict, text: str, params: dict, times: int) -> None:
    """Run a query ``times`` times on each session, the sessions taking turns (warm-up runs)."""
    for _ in range(times):
        for n, s in sessions.items():
            s.run(text, params[n]).consume()


def medians_ms(sessions: dict, text: str, params: dict, warm_ups: int, runs: int) -> dict:
    """Median ms per session of ``runs`` runs after ``warm_ups``, the sessions taking turns."""
    run_in_turn(sessions, text, params, warm_ups)
    times: dict = {n: [] for n in sessions}
    for _ in range(runs):
        for n, s in sessions.items():
            started = time.perf_counter()
            s.run(text, params[n]).consume()
            times[n].append((time.perf_counter() - started) * 1000)
    return {n: statistics.median(t) for n, t in times.items()}


def _scans(plan: dict) -> list[str]:
    """AllNodesScans and label scans of big labels that ran (a branch whose guard was false
    shows its operators with no rows and no database hits)."""
    found = []
    operator = plan.get("operatorType", "").split("@")[0]
    details = plan.get("args", {}).get("Details", "")
    ran = plan.get("rows", 0) or plan.get("dbHits", 0)
    if operator == "AllNodesScan" and ran:
        found.append("AllNodesScan")
    if operator == "NodeByLabelScan" and ran and any(f":{label}" in details for label in BIG_LABELS):
        found.append(f"NodeByLabelScan {details.strip()}")
    for child in plan.get("children", []):
        found.extend(_scans(child))
    return found


def machine() -> dict:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    pom = (REPO / "tools" / "neo4j" / "pom.xml").read_text()
    import neo4j as driver

    try:
        import neo4j._rust  # noqa: F401
        rust = "installed"
    except ImportError:
        rust = "not installed"
    return {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "python": platform.python_version(), "driver": driver.__version__, "rust_ext": rust,
            "neo4j": re.search(r"<neo4j.version>(.*)</neo4j.version>", pom).group(1), "java": java,
            "heap": ENV["NEO4J_HEAP"], "pagecache": ENV["NEO4J_PAGECACHE"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="10,000 and 100,000 calls instead of 2,000 and 10,000")
    parser.add_argument("--naive-records", type=int, default=1000, help="records for the naive-vs-callgraph comparison")
    args = parser.parse_args()
    small, big = (10_000, 100_000) if args.full else (2_000, 10_000)
    figures: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                     "sizes": [small, big], "command": "bench/run.py" + (" --full" if args.full else "")}
    say = lambda text: print(text, flush=True)  # noqa: E731

    neo4j("start")
    files = {n: tenant_file(n, seed=1) for n in (small, big)}
    buildings = building_file()
    extra = tenant_file(1000, seed=2)  # 1,000 records that are new to both databases

    # 1 + 5: the same small slice through the naive loader and through callgraph, codec on and off
    sample = head(files[small], args.naive_records)
    base = fresh_database(naive=True)
    naive_s, _ = timed([sys.executable, str(REPO / "bench" / "naive_loader.py"), str(sample), URI, "neo4j", PASSWORD,
                        str(args.naive_records)])
    sample_elements = graph_size() - base
    # callgraph's load of the slice takes 1.5-3 s, where one busy moment of this shared machine
    # shows (the naive loader's 100 s and more even out): the median of SHORT_RUNS runs, each
    # into the emptied database, codec on and off in turn
    fresh_database()
    runs: dict = {"callgraph_runs_s": [], "callgraph_pure_python_runs_s": []}
    for i in range(SHORT_RUNS):
        if i:
            empty_database()
        runs["callgraph_runs_s"].append(callgraph_load(sample)[0])
        empty_database()
        runs["callgraph_pure_python_runs_s"].append(callgraph_load(sample, rust=False)[0])
    cg_s, cg_py_s = (statistics.median(r) for r in runs.values())
    figures["naive"] = {"records": args.naive_records, "elements": sample_elements, "naive_s": naive_s,
                        "callgraph_s": cg_s, "callgraph_pure_python_s": cg_py_s, **runs}
    say(f"naive vs callgraph on {args.naive_records} records ({sample_elements} elements): naive {naive_s:.1f}s, "
        f"callgraph {cg_s:.1f}s ({naive_s / cg_s:.1f}x), pure-Python codec {cg_py_s:.1f}s")

    # 1 + 2 + 4: each size into an empty database; incremental and queries on each
    figures["loads"], figures["incremental"] = {}, {}
    for n in (small, big):
        fresh_database()
        empty_extra_s, _ = callgraph_load(extra)
        # the offline ceiling right before callgraph's load of the same records: this shared
        # machine's speed moves by a quarter and more within minutes, so the two rates are
        # taken as close together as the warm-up between them allows
        imported = admin_import(files[n])
        figures.setdefault("admin_import", {})[n] = imported
        say(f"neo4j-admin import {n}: export {imported['export_s']:.1f}s, import {imported['import_s']:.1f}s, "
            f"{imported['elements'] / imported['import_s']:.0f} elements/s ({imported['elements']} elements)")
        base = fresh_database()
        seconds, rss = callgraph_load(files[n])
        elements = graph_size() - base
        summarize_s, _ = timed(callgraph("summarize"))
        # the admin's map after the calls: every media line already loaded is placed
        place_s, _ = timed(callgraph("buildings", "-q", str(buildings)))
        figures["loads"][n] = {"seconds": seconds, "peak_rss_mib": rss, "elements": elements, "summarize_s": summarize_s,
                               "place_s": place_s}
        say(f"callgraph load {n}: {seconds:.1f}s, {n / seconds:.0f} records/s, {elements / seconds:.0f} elements/s, "
            f"peak RSS {rss:.0f} MiB; callgraph summarize {summarize_s:.1f}s; "
            f"callgraph buildings ({MAP_NETWORKS:,} networks) {place_s:.1f}s")
        neo4j("stop")  # a clean checkpoint of the load, then queries on a settled server
        if n == small:
            keep_store()  # queried beside the big one, below
        neo4j("start")
        if n == big:
            neo4j("start", env=SIDE_ENV)
            figures["queries"] = query_latencies({small: SIDE_URI, big: URI})
            neo4j("stop", env=SIDE_ENV)
            for name, q in figures["queries"][big].items():
                q_small = figures["queries"][small][name]
                say(f"  {name}: {q_small['median_ms']:.1f} ms at {small}, {q['median_ms']:.1f} ms at {big} "
                    f"({q['median_ms'] / q_small['median_ms']:.1f}x){'  scans: ' + '; '.join(q['scans']) if q['scans'] else ''}")
        callgraph_load(tenant_file(1000, seed=3))  # the restart left the write path cold: warm it, untimed
        more_s, _ = callgraph_load(extra)
        figures["incremental"][n] = {"into_empty_s": empty_extra_s, "into_loaded_s": more_s}
        say(f"  1,000 new records: {more_s:.1f}s into {n}, {empty_extra_s:.1f}s into empty "
            f"({more_s / empty_extra_s:.2f}x)")
        if n == big:  # every stored stream judged again, by the other rule (the last step: the rule stays)
            with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as session:
                streams = session.run("MATCH (s:Stream) RETURN count(s) AS n").single()["n"]
            classify_s, _ = timed(callgraph("classify", "-q", "--rule", "cqd-legacy"))
            figures["classify"] = {"records": n, "streams": streams, "seconds": classify_s}
            say(f"  callgraph classify --rule cqd-legacy over {n}: {classify_s:.1f}s, {streams / classify_s:,.0f} streams/s")
    # the load with the map in force from the start (ends placed as they are written) against
    # the same load without one, above
    fresh_database()
    timed(callgraph("buildings", "-q", str(buildings)))
    with_map_s, _ = callgraph_load(files[small])
    figures["load_with_map"] = {"records": small, "seconds": with_map_s, "without_s": figures["loads"][small]["seconds"]}
    say(f"callgraph load {small} with a {MAP_NETWORKS:,}-network map: {with_map_s:.1f}s "
        f"({with_map_s / figures['loads'][small]['seconds']:.2f}x the load without)")
    neo4j("stop")
    (DATA / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    write_report(figures)
    say(f"written: docs/benchmarks.md (raw figures in {DATA / 'figures.json'})")


def write_report(f: dict) -> None:
    small, big = f["sizes"]
    m, naive = f["machine"], f["naive"]
    lines = ["<!-- load-bench -->", "## Load, memory, incremental, queries (bench/run.py)", "",
             f"Run `{f['command']}` on {f['when']}: {m['cpus']} cores, {m['memory_gib']} GiB; Neo4j {m['neo4j']} "
             f"(heap {m['heap']}, page cache {m['pagecache']}) on {m['java']}; Python {m['python']}, driver "
             f"{m['driver']}, neo4j-rust-ext {m['rust_ext']}. Generated tenants (`callgraph generate --seed 1`); "
             f"each figure is one run into an empty database on a warm server: restarted, made to load {WARM_UP_RECORDS:,} "
             "other generated calls and emptied again (a JVM's first minute goes to compiling Neo4j's write "
             "path), keeping callgraph's constraints and indexes for callgraph and dropping them for the "
             "naive loader, which creates none; then the loader under test writes the four sample records, "
             "untimed. `callgraph load` runs with its defaults (100 records per transaction, 3 "
             f"writers). One run per figure on a shared machine, so expect some noise, except callgraph's "
             f"load of the naive loader's slice, which takes a few seconds: the median of {SHORT_RUNS} runs, each "
             "into the emptied database, with the codec on and off in turn. `neo4j-admin database import` "
             "runs right before callgraph's load of the same records (only the server's warm-up between "
             "them), so that the two rates see the machine at nearly the same moment. "
             "Times are wall-clock times of the whole command, Python start-up included.", "",
             "| measure | figure | target |", "|---|---|---|"]
    ratio = naive["naive_s"] / naive["callgraph_s"]
    lines.append(f"| callgraph load vs naive loader, same {naive['records']} records | {ratio:.1f}x faster "
                 f"({naive['callgraph_s']:.1f}s vs {naive['naive_s']:.1f}s; callgraph's runs "
                 f"{', '.join(f'{t:.1f}' for t in naive['callgraph_runs_s'])} s) | >= 50x |")
    for n in (small, big):
        load, imp = f["loads"][n], f["admin_import"][n]
        rate, ceiling = load["elements"] / load["seconds"], imp["elements"] / imp["import_s"]
        lines.append(f"| callgraph load, {n:,} records | {n / load['seconds']:,.0f} records/s, {rate:,.0f} elements/s "
                     f"({load['elements']:,} elements in {load['seconds']:.1f}s) | |")
        lines.append(f"| neo4j-admin import, same {n:,} records | {ceiling:,.0f} elements/s (import {imp['import_s']:.1f}s "
                     f"after a {imp['export_s']:.1f}s export); callgraph reaches {rate / ceiling:.1%} | >= 25% |")
    if "summarize_s" in f["loads"][big]:
        lines.append(f"| `callgraph summarize` after the load, {small:,} / {big:,} records | "
                     f"{f['loads'][small]['summarize_s']:.1f}s / {f['loads'][big]['summarize_s']:.1f}s | |")
    if "place_s" in f["loads"][big]:
        lines.append(f"| `callgraph buildings` ({MAP_NETWORKS:,} networks) after the load: every media line placed, "
                     f"{small:,} / {big:,} records | {f['loads'][small]['place_s']:.1f}s / {f['loads'][big]['place_s']:.1f}s | |")
    if "load_with_map" in f:
        w = f["load_with_map"]
        lines.append(f"| callgraph load, {w['records']:,} records, with that map in force vs without | "
                     f"{w['seconds']:.1f}s vs {w['without_s']:.1f}s ({w['seconds'] / w['without_s']:.2f}x) | <= 1.1x |")
    if "classify" in f:
        c = f["classify"]
        lines.append(f"| `callgraph classify --rule cqd-legacy`, {c['records']:,} records | {c['seconds']:.1f}s, "
                     f"{c['streams'] / c['seconds']:,.0f} streams/s ({c['streams']:,} streams) | |")
    rss_small, rss_big = f["loads"][small]["peak_rss_mib"], f["loads"][big]["peak_rss_mib"]
    lines.append(f"| peak RSS, {big:,} vs {small:,} records | {rss_big:.0f} vs {rss_small:.0f} MiB "
                 f"({rss_big / rss_small:.2f}x) | <= 1.5x |")
    inc = f["incremental"][big]
    lines.append(f"| 1,000 new records into {big:,} (after the query restart and 1,000 others, untimed) vs into empty | {inc['into_loaded_s']:.1f}s vs "
                 f"{inc['into_empty_s']:.1f}s ({inc['into_loaded_s'] / inc['into_empty_s']:.2f}x) | <= 2x |")
    lines.append(f"| Rust codec, same {naive['records']} records (medians) | {naive['callgraph_pure_python_s']:.1f}s without, "
                 f"{naive['callgraph_s']:.1f}s with ({naive['callgraph_pure_python_s'] / naive['callgraph_s']:.2f}x) | |")
    lines += ["", "Saved queries with their default parameters, each size on a server of its own restarted after "
              "its load and `callgraph summarize` (so the load's checkpoint is done; the smaller store is a copy "
              "taken then), the two taking turns run by run so that both see the same moments of the machine: "
              "median ms of 7 runs after a pass that runs every query twice (the JIT compiler's warm-up) and 2 "
              "warm-up runs, the first run's ms (cold page cache) in brackets. A summarized aggregate reads the "
              "rows the summarize kept; the fresh column is the same query with `fresh=true`, which reads every "
              "call in store order (a CallRecord label scan, by design), as it does when a load has written "
              "calls since the summaries were built; its time per call record is given too (the same at both "
              "sizes is linear growth). Then the median with a one-day window (`since`/`until` on the tenant's "
              "first day of seven), and the big-label scans in PROFILE with that window.", "",
              f"| query | {small:,} | {big:,} | ratio | target | fresh: {small:,} / {big:,}, ratio | "
              f"µs per call (fresh), {small:,} / {big:,} | one-day window, {small:,} / {big:,} | "
              f"scans at {big:,} (window) |",
              "|---|---|---|---|---|---|---|---|---|"]
    lookups = {q.name for q in load_all().values() if any(p.required for p in q.params)}
    for name, q_big in f["queries"][big].items():
        q_small = f["queries"][small][name]
        window = (f"{q_small['window_ms']:.1f} / {q_big['window_ms']:.1f}" if "window_ms" in q_big else "")
        every_call = "fresh_ms" if "fresh_ms" in q_big else "median_ms"  # what reads every call
        fresh = (f"{q_small['fresh_ms']:.1f} / {q_big['fresh_ms']:.1f}, {q_big['fresh_ms'] / q_small['fresh_ms']:.1f}x"
                 if "fresh_ms" in q_big else "")
        per_call = ("" if name in lookups else
                    f"{q_small[every_call] * 1000 / small:.1f} / {q_big[every_call] * 1000 / big:.1f}")
        lines.append(f"| {name} | {q_small['median_ms']:.1f} ({q_small['first_ms']:.0f}) | "
                     f"{q_big['median_ms']:.1f} ({q_big['first_ms']:.0f}) | "
                     f"{q_big['median_ms'] / max(q_small['median_ms'], 0.001):.1f}x | "
                     f"{'<= 2x' if name in lookups else '<= 10x'} | {fresh} | {per_call} | {window} | "
                     f"{'; '.join(q_big['scans']) or 'none'} |")
    lines += ["", "<!-- /load-bench -->"]
    section = "\n".join(lines) + "\n"
    doc = REPO / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if "<!-- load-bench -->" in text:
        text = re.sub(r"<!-- load-bench -->.*<!-- /load-bench -->\n?", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)


if __name__ == "__main__":
    main()
