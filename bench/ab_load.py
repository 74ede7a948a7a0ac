"""A/B of `callgraph load` between two checkouts, alternating, on one server.

    .venv/bin/python bench/ab_load.py OLD_CHECKOUT [NEW_CHECKOUT] [--records 3000] [--rounds 6]

For a change to the load path when the full bench (bench/run.py, 12 minutes or more) is too
long, or when the machine is shared (CALLGRAPH_AB_BOLT_PORT/CALLGRAPH_AB_HTTP_PORT for a second A/B at once): both checkouts load the same generated tenant into the
same emptied database, in turn (A B A B ...), so that whatever else the machine does weighs on
both alike. Prints each run's wall time and the medians, and appends them to
docs/benchmarks.md with --write. NEW_CHECKOUT defaults to this one. Each checkout is imported
from its own folder (PYTHONPATH), with this venv's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loader.store.connection import connect  # noqa: E402

HOME = REPO / (".neo4j-ab-" + os.environ["CALLGRAPH_AB_BOLT_PORT"] if "CALLGRAPH_AB_BOLT_PORT" in os.environ else ".neo4j-ab")
BOLT, PASSWORD = int(os.environ.get("CALLGRAPH_AB_BOLT_PORT", "37689")), "callgraph-bench"  # another pair at once
URI = f"neo4j://127.0.0.1:{BOLT}"
ENV = dict(os.environ, CALLGRAPH_NEO4J_HOME=str(HOME), NEO4J_BOLT_PORT=str(BOLT), NEO4J_HTTP_PORT=os.environ.get("CALLGRAPH_AB_HTTP_PORT", "37476"),
           NEO4J_PASSWORD=PASSWORD, CALLGRAPH_NEO4J_MODE="maven", NEO4J_URI=URI, NEO4J_USERNAME="neo4j",
           NEO4J_DATABASE="neo4j")
WARM_UP_RECORDS = 10_000  # see bench/run.py: the server's JIT is still at work before that


def generate_file(path: Path, records: int, seed: int) -> None:
    """The tenant, written by this checkout's generator (the same records for both sides)."""
    from loader import demo

    kwargs = {"as_of": date(2026, 11, 30)} if "as_of" in demo.generate.__code__.co_varnames else {}
    with open(path, "w") as f:
        for record in demo.generate(records, seed=seed, **kwargs):
            f.write(json.dumps(record) + "\n")


def load(checkout: Path, path: Path) -> float:
    env = dict(ENV, PYTHONPATH=str(checkout))
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "from loader.cli import main; main()", "load", "-q", str(path)],
                   env=env, cwd=str(checkout), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def empty() -> None:
    with connect(URI, "neo4j", PASSWORD, "neo4j") as graph, graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=REPO)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--write", action="store_true", help="append the figures to docs/benchmarks.md")
    args = parser.parse_args()
    sides = {"A (old)": args.old.resolve(), "B (new)": args.new.resolve()}
    for name, checkout in sides.items():
        found = subprocess.run([sys.executable, "-c", "import loader; print(loader.__file__)"], cwd=str(checkout),
                               env=dict(ENV, PYTHONPATH=str(checkout)), capture_output=True, text=True, check=True)
        assert found.stdout.strip().startswith(str(checkout)), f"{name} imports {found.stdout.strip()}"
    subprocess.run([str(REPO / "scripts" / "neo4j"), "start"], env=ENV, check=True, stdout=subprocess.DEVNULL)
    times: dict[str, list[float]] = {name: [] for name in sides}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            warm, tenant = Path(tmp) / "warm.jsonl", Path(tmp) / "tenant.jsonl"
            generate_file(warm, WARM_UP_RECORDS, seed=9)
            generate_file(tenant, args.records, seed=3)
            empty()
            load(sides["B (new)"], warm)
            for round_ in range(args.rounds):
                for name, checkout in (sides.items() if round_ % 2 == 0 else reversed(list(sides.items()))):
                    empty()
                    seconds = load(checkout, tenant)
                    times[name].append(seconds)
                    print(f"round {round_ + 1} {name}: {seconds:.2f} s", flush=True)
    finally:
        subprocess.run([str(REPO / "scripts" / "neo4j"), "stop"], env=ENV, check=False, stdout=subprocess.DEVNULL)
    medians = {name: statistics.median(t) for name, t in times.items()}
    spread = {name: max(t) - min(t) for name, t in times.items()}
    lines = [f"- {name} `{sides[name]}`: median {medians[name]:.2f} s over {args.rounds} runs "
             f"(min {min(times[name]):.2f}, max {max(times[name]):.2f}, spread {spread[name]:.2f} s; "
             f"{args.records / medians[name]:,.0f} records/s)" for name in sides]
    ratio = medians["B (new)"] / medians["A (old)"]
    lines.append(f"- B / A: {ratio:.3f}")
    print("\n".join(lines))
    if args.write:
        with open(REPO / "docs" / "benchmarks.md", "a") as f:
            f.write(f"\n### A/B of `callgraph load`, {args.records:,} records, {date.today():%Y-%m-%d}\n\n"
                    + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
