"""What the commands share: connection options, write options, progress and summaries."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import click
from tqdm import tqdm

from ..errors import CallgraphError, ParameterError
from ..queries.summaries import state as summaries_state
from ..times import parse_when
from ..store.connection import DEFAULT_DATABASE, DEFAULT_URI, DEFAULT_USER, DEFAULT_WAIT, connect
from ..store.load import Summary


def neo4j_options(command):
    """The connection options every database command takes, with the usual Neo4j variables."""
    options = [
        click.option("--uri", envvar="NEO4J_URI", default=DEFAULT_URI, show_default=True,
                     help="Neo4j URI [env NEO4J_URI]. neo4j:// routes in a cluster; neo4j+s:// for Aura. No "
                          "credentials in it: NEO4J_USERNAME and NEO4J_PASSWORD hold them."),
        click.option("--username", envvar="NEO4J_USERNAME", default=DEFAULT_USER, show_default=True,
                     help="Neo4j user [env NEO4J_USERNAME]."),
        click.option("--password", envvar="NEO4J_PASSWORD", default=None,
                     help="Neo4j password [env NEO4J_PASSWORD]; prefer the variable, so it stays out of "
                          "shell history. The local server from scripts/neo4j uses callgraph-dev."),
        click.option("--database", envvar="NEO4J_DATABASE", default=DEFAULT_DATABASE, show_default=True,
                     help="Database name [env NEO4J_DATABASE]."),
        click.option("--wait", type=click.FloatRange(0), default=DEFAULT_WAIT, show_default=True, expose_value=False,
                     callback=_remember_wait, metavar="SECONDS",
                     help="How long a write is tried again while Neo4j is away or busy (a restart, a leader "
                          "switch); then the command ends with one line, and what was committed stays."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def write_options(command):
    """How `load` and `sync` write: records per transaction, transactions at once, summaries after."""
    options = [
        click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 100_000),
                     help="Call records per transaction."),
        click.option("--writers", default=3, show_default=True, type=click.IntRange(1, 16),
                     help="Transactions written at the same time, so Neo4j works on one batch while it "
                          "commits another and Python prepares the next. More can help against a remote "
                          "server or a cluster; 1 writes strictly one batch after the other."),
        click.option("--summarize", "and_summarize", is_flag=True,
                     help="Then rebuild the saved aggregates' summaries (see `callgraph summarize`)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _remember_wait(ctx: click.Context, param, value: float) -> float:
    ctx.meta["callgraph.wait"] = value
    return value


def open_graph(uri: str, username: str, password: str | None, database: str):
    """The connection of a command's --uri/--username/--password/--database (and --wait) options."""
    ctx = click.get_current_context(silent=True)
    wait = ctx.meta.get("callgraph.wait", DEFAULT_WAIT) if ctx else DEFAULT_WAIT
    return connect(uri, username, password, database, wait)


def output_file(out: str, option: str = "--out") -> str:
    """An output file's path, checked before any work is done: its directory must exist."""
    parent = Path(out).parent
    if out != "-" and not parent.is_dir():
        raise ParameterError(f"{option} {out}: there is no directory {parent}; create it first "
                             f"(mkdir -p {parent}) or write somewhere else")
    return out


def after_load(graph, and_summarize: bool) -> None:
    """Rebuild the summaries when asked; otherwise say when the load made them stale."""
    if and_summarize:
        from .query import run_summarize

        run_summarize(graph)
    else:
        kept = summaries_state(graph)
        if kept.exists and not kept.current:
            click.echo("The summaries are out of date now: the aggregates read every call until "
                       "`callgraph summarize` runs again.", err=True)


def format_summary(summary: Summary, seconds: float) -> str:
    c = summary.counts
    lines = [f"{summary.read} records read in {seconds:.1f}s: {c['loaded']} loaded, {c['replaced']} replaced by a "
             f"newer version, {c['completed']} completed, {c['unchanged']} unchanged, {c['older']} skipped as older, "
             f"{c['rejected']} rejected"]
    if summary.log_rows:
        linked = summary.linked
        lines.append(f"{summary.log_rows} PSTN and Direct Routing rows loaded; linked to call records: "
                     f"{linked.get('id', 0)} by id, {linked.get('userTimeWindow', 0)} by user and time window")
    return "\n".join(lines + ignored_lines(summary))


def ignored_lines(summary: Summary) -> list[str]:
    """What the input held besides call records, one line per file and kind."""
    return [f"skipped {origin}: {n} x {what}" for (origin, what), n in sorted(summary.ignored.items())]


def nothing_found(summary: Summary, paths: list[str]) -> CallgraphError | None:
    """The error of a load whose input held no call records or log rows at all, or None."""
    if summary.read or summary.log_rows:
        return None
    where = ", ".join("standard input" if p == "-" else p for p in paths)
    return CallgraphError(f"no records found in {where}: give files of Graph call records (JSON or JSON Lines, "
                          "or gzipped), or a directory holding *.json, *.jsonl or *.ndjson files")


def parse_time_option(text: str | None, now: datetime | None, name: str) -> datetime | None:
    """An option's time (an ISO date or date-time, or an age such as 7d: :mod:`loader.times`),
    or None when not given; a bad one names the option."""
    if not text:
        return None
    try:
        return parse_when(text, now or datetime.now(timezone.utc))
    except ValueError as exc:
        raise ParameterError(f"{name}: {exc}") from None


# The status line's layouts: with a known total, the share done, a bar, time spent and left (tqdm's
# estimate from the average rate so far), then the command's counts; without one, time and counts.
# Time comes first so a narrow terminal, where tqdm cuts the line at its width, still shows it.
WITH_TOTAL = "{percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {desc}"
WITHOUT_TOTAL = "[{elapsed}] {desc}"


def progress_bar(enabled: bool, total: int | None = None) -> tqdm:
    """The status line of a long command: a tqdm bar on standard error.

    Only when ``enabled`` (standard error is a terminal and not --quiet); one line however
    narrow the terminal (dynamic_ncols follows its width, and tqdm trims to it), redrawn at
    most five times a second however often it is updated, and erased when closed so the
    summary prints in its place. The counts go in as the description (set_description_str
    with refresh=False); ``set_total`` gives the total once it is known.
    """
    return tqdm(total=total, disable=not enabled, file=sys.stderr, dynamic_ncols=True, leave=False,
                mininterval=0.2, miniters=0, smoothing=0,
                bar_format=WITH_TOTAL if total is not None else WITHOUT_TOTAL)


def set_total(bar: tqdm, total: int) -> None:
    """The total learnt on the way (fetch: once the listing is done): bar, share and time left from now on."""
    if bar.total is None:
        bar.total, bar.bar_format = total, WITH_TOTAL


def show(bar: tqdm, n: int, counts: str) -> None:
    """Move ``bar`` to ``n`` with ``counts`` beside it; tqdm draws it if 0.2 s have passed."""
    bar.set_description_str(counts, refresh=False)
    bar.update(n - bar.n)


@contextmanager
def batch_progress(quiet: bool, counts: Callable[[object, int], str]) -> Iterator[Callable[[object, int], None]]:
    """The ``on_batch`` of a library function that works through the stored records in batches
    (classify, the placement of a building file): it reports its result so far (with a
    ``records`` count) and the records in all; ``counts`` words the line beside the bar."""
    with progress_bar(enabled=not quiet and sys.stderr.isatty()) as bar:
        def on_batch(result, total: int) -> None:
            set_total(bar, total)
            show(bar, result.records, counts(result, total))

        yield on_batch


def echo_over(text: str) -> None:
    """A line on standard error while a progress bar may be showing: the bar is cleared, the
    line printed, the bar drawn again below it."""
    with tqdm.external_write_mode(file=sys.stderr):
        click.echo(text, err=True)
