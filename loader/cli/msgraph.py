"""`callgraph fetch` and `callgraph sync`: pull call records from Microsoft Graph.

``fetch`` writes complete records to a JSON Lines file (no database); ``sync`` is a thin
wrapper over :func:`loader.msgraph.sync.sync`, which streams them into Neo4j through the
loader's one write path and keeps a watermark there so the next run continues where this one
ended.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from datetime import datetime, timezone

import click

from ..errors import ParameterError
from ..msgraph.client import CLOUDS, DEFAULT_LIMITS, GraphClient, RateLimiter, RetryPolicy, Settings, \
    parse_limit
from ..msgraph.fetch import DEFAULT_NOT_FOUND_SCHEDULE, Fetcher, pstn_rows
from ..msgraph.sync import sync as run_sync
from ..model import LOG_ROW_KINDS
from ..store.load import Problem
from ..store.schema import ensure_schema
from ..times import AGES, parse_duration
from .common import (after_load, echo_over, format_summary, neo4j_options, open_graph, output_file,
                     parse_time_option, progress_bar, set_total, show, write_options)


def graph_options(command):
    """Where to sign in and what to call, with the Azure SDKs' variable names."""
    limits = ", ".join(f"{k}={n}/{s:g}" for k, (n, s) in DEFAULT_LIMITS.items())
    options = [
        click.option("--tenant-id", envvar="AZURE_TENANT_ID", help="Directory (tenant) id [env AZURE_TENANT_ID]."),
        click.option("--client-id", envvar="AZURE_CLIENT_ID",
                     help="Application (client) id of the app registration [env AZURE_CLIENT_ID]."),
        click.option("--client-secret", envvar="AZURE_CLIENT_SECRET",
                     help="Client secret [env AZURE_CLIENT_SECRET]; prefer the variable, so it stays out of "
                          "shell history."),
        click.option("--client-certificate", envvar="AZURE_CLIENT_CERTIFICATE_PATH", type=click.Path(dir_okay=False),
                     help="Certificate instead of a secret: a PEM file with the private key and the certificate, "
                          "or a .pfx/.p12 file [env AZURE_CLIENT_CERTIFICATE_PATH]."),
        click.option("--client-certificate-password", envvar="AZURE_CLIENT_CERTIFICATE_PASSWORD",
                     help="Password of the certificate's key or PFX [env AZURE_CLIENT_CERTIFICATE_PASSWORD]."),
        click.option("--cloud", type=click.Choice(list(CLOUDS)), default="global", show_default=True,
                     help="National cloud: sets the sign-in authority and the Graph host (usgov: GCC High, "
                          "dod: DoD)."),
        click.option("--graph-url", envvar="CALLGRAPH_GRAPH_URL",
                     help="Graph base URL, overriding --cloud, e.g. https://graph.microsoft.com/v1.0 "
                          "[env CALLGRAPH_GRAPH_URL]."),
        click.option("--authority-host", envvar="AZURE_AUTHORITY_HOST",
                     help="Sign-in authority, overriding --cloud, e.g. https://login.microsoftonline.com "
                          "[env AZURE_AUTHORITY_HOST]."),
        click.option("--id", "ids", multiple=True, metavar="ID",
                     help="Fetch this call record (repeatable) instead of, or besides, a time window."),
        click.option("--no-participants", is_flag=True,
                     help="Skip participants_v2 (one request less per record)."),
        click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64),
                     help="Records fetched at the same time."),
        click.option("--rate-limit", "rate_limits", multiple=True, metavar="NAME=N/SECONDS",
                     help=f"Client-side limit, repeatable; defaults are Graph's documented limits: {limits}."),
        click.option("--max-attempts", default=6, show_default=True, type=click.IntRange(1, 100),
                     help="Tries per request on 429, 5xx, resets and timeouts before the record counts as failed."),
        click.option("--backoff", default=1.0, show_default=True, type=click.FloatRange(0),
                     help="Seconds before the first retry when Graph gives no Retry-After; doubles, with jitter."),
        click.option("--not-found-retries", default=",".join(f"{s:g}" for s in DEFAULT_NOT_FOUND_SCHEDULE),
                     show_default=True, metavar="SECONDS,...",
                     help="When a record answers 404 while it may still be in the making (asked for by id, or "
                          "ended less than 150 min ago), wait this long before each new try; then it is "
                          "reported as pending."),
        click.option("--quiet", "-q", is_flag=True, help="No progress line; problems and the summary still print."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(o: dict) -> Settings:
    missing = [name for name, key in (("AZURE_TENANT_ID (or --tenant-id)", "tenant_id"),
                                      ("AZURE_CLIENT_ID (or --client-id)", "client_id")) if not o[key]]
    if not o["client_secret"] and not o["client_certificate"]:
        missing.append("AZURE_CLIENT_SECRET, or AZURE_CLIENT_CERTIFICATE_PATH for a certificate")
    if missing:
        raise ParameterError("to sign in to Microsoft Graph, set " + "; ".join(missing))
    authority, graph_url = CLOUDS[o["cloud"]]
    return Settings(o["tenant_id"], o["client_id"], o["client_secret"] or None, o["client_certificate"] or None,
                    o["client_certificate_password"] or None, (o["authority_host"] or authority).rstrip("/"),
                    (o["graph_url"] or graph_url).rstrip("/"))


def _client(o: dict) -> GraphClient:
    try:
        limits = dict(parse_limit(text) for text in o["rate_limits"])
    except ValueError as exc:
        raise ParameterError(f"--rate-limit: {exc}") from None
    retry = RetryPolicy(attempts=o["max_attempts"], backoff=o["backoff"], max_backoff=max(60.0, o["backoff"]))
    return GraphClient(_settings(o), RateLimiter(limits), retry, max_connections=o["workers"] * 2)


def _schedule(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ParameterError(f"--not-found-retries: expected seconds separated by commas, e.g. 60,300,900; "
                             f"got {text!r}") from None


def _show_fetch(bar, fetcher: Fetcher, client: GraphClient, started: float, loaded: int | None = None) -> None:
    """Fetched of the records to fetch once the listing is done (share, time left); counts before."""
    if bar.disable:  # called for every record: nothing to do without a terminal
        return
    r, c = fetcher.report, client.stats.counts
    seconds = max(time.monotonic() - started, 1e-6)
    if r.to_fetch is not None:
        set_total(bar, r.to_fetch)
        head = f"{r.fetched:,}/{r.to_fetch:,} fetched"
    else:
        head = f"{r.listed:,} listed, {r.fetched:,} fetched"
    missing = len(r.failed) + len(r.pending)
    show(bar, r.finished, f"{head} ({r.fetched / seconds:,.1f}/s)" + (f", {missing:,} failed or pending" if missing else "")
         + (f", {loaded:,} loaded" if loaded is not None else "")
         + f", {c['requests']:,} requests ({c['requests'] / seconds:,.1f}/s), {c['throttled']:,} throttled, "
           f"{c['retried']:,} retried")


def _report_lines(fetcher: Fetcher, client: GraphClient, seconds: float) -> list[str]:
    r, c = fetcher.report, client.stats.counts
    limit, window = client.limiter.limits["tenant"]
    lines = [f"{r.listed} listed, {r.skipped} already stored, {r.fetched} fetched, {c['retried']} retried, "
             f"{c['throttled']} throttled, {len(r.failed)} failed, {len(r.pending)} pending in {seconds:.1f}s",
             f"{c['requests']} requests ({c['requests'] / max(seconds, 1e-6):.1f}/s; limit {limit} per {window:g}s), "
             f"{r.not_found_retries} retries of records not found yet, {c['token_refreshes']} token refreshes"]
    lines += [f"failed: {rid}: {reason}" for rid, reason in sorted(r.failed.items())]
    lines += [f"pending: {rid}: {reason}" for rid, reason in sorted(r.pending.items())]
    return lines


@click.command()
@click.option("--since", help=f"Records that started at or after this: an ISO 8601 date or time (UTC unless it says "
                              f"otherwise), or an age such as {AGES}.")
@click.option("--until", help="...and before this, in the same forms (default: now).")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON Lines file to write, gzipped when it ends in .gz; - for standard output.")
@click.option("--pstn", is_flag=True,
              help="Also write the getPstnCalls and getDirectRoutingCalls rows of the window (90-day chunks); "
                   "`callgraph load` loads and links them like `sync --pstn`.")
@graph_options
def fetch(since, until, out, pstn, **o):
    """Fetch complete call records from Microsoft Graph into a JSON Lines file (no database).

    \b
    Each line is one record as GET /communications/callRecords/{id}?$expand=sessions($expand=segments)
    returns it, with every sessions page followed and participants_v2 added; `callgraph load FILE`
    loads the file later. Give --since (and --until) for a time window, or --id for given records.

    \b
    Sign-in: app-only, with the application permission CallRecords.Read.All (admin consent),
    by client secret or certificate; see "Pull call records from Microsoft Graph" in README.md.
    Exit status: 0 every record fetched, 1 something failed or is still pending, 2 usage error.
    """
    now = datetime.now(timezone.utc)
    since_at, until_at = parse_time_option(since, now, "--since"), parse_time_option(until, now, "--until") or now
    if since_at is None and not o["ids"]:
        raise ParameterError("give --since (a time window) or --id (given records)")
    if pstn and since_at is None:
        raise ParameterError("--pstn needs --since: the PSTN logs are read by time window")
    output_file(out)
    client = _client(o)
    fetcher = Fetcher(client, o["workers"], not o["no_participants"], _schedule(o["not_found_retries"]))
    started = time.monotonic()
    written = 0
    with progress_bar(enabled=not o["quiet"] and sys.stderr.isatty() and out != "-") as bar, \
            client, _open_out(out) as stream:
        for record in fetcher.records(since_at, until_at, o["ids"]):
            stream.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
            written += 1
            _show_fetch(bar, fetcher, client, started)
        rows = {kind.function: 0 for kind in LOG_ROW_KINDS}
        for kind in (LOG_ROW_KINDS if pstn else ()):
            for row in pstn_rows(client, kind.function, since_at, until_at):
                # the type tells `load` what the line is, as Graph's own annotation would
                row.setdefault("@odata.type", f"#microsoft.graph.callRecords.{kind.odata_type}")
                stream.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n")
                rows[kind.function] += 1
    lines = _report_lines(fetcher, client, time.monotonic() - started)
    if pstn:
        lines.append("PSTN: " + ", ".join(f"{n} {function} rows" for function, n in rows.items()) + " written")
    click.echo("\n".join([f"{written} records written to {out}"] + lines), err=True)
    if fetcher.report.failed or fetcher.report.pending:
        sys.exit(1)


class _open_out:
    """Write to FILE.partial and rename at the end, so a broken run never leaves a file that looks whole."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        if self.path == "-":
            self.stream = sys.stdout
            return self.stream
        self.partial = self.path + ".partial"
        self.stream = (gzip.open(self.partial, "wt", encoding="utf-8") if self.path.endswith(".gz")
                       else open(self.partial, "w", encoding="utf-8"))
        return self.stream

    def __exit__(self, exc_type, *rest) -> None:
        if self.path == "-":
            self.stream.flush()
            return
        self.stream.close()
        if exc_type is None:
            os.replace(self.partial, self.path)
        else:
            os.unlink(self.partial)


@click.command()
@click.option("--since", help=f"Start of the window: an ISO 8601 date or time (UTC unless it says otherwise), or an "
                              f"age such as {AGES}. Default: the watermark of the last sync minus --overlap.")
@click.option("--until", help="End of the window, in the same forms (default: now).")
@click.option("--overlap", default="8h", show_default=True,
              help=f"How much before the watermark to list again ({AGES}): records appear up to 150 min after "
                   "a call ends and are listed by start time, so this must cover the longest call plus 150 min.")
@click.option("--pstn", is_flag=True,
              help="Also pull getPstnCalls and getDirectRoutingCalls rows for the window (in 90-day chunks) and "
                   "link them to users, SBCs and, where the evidence allows, call records.")
@write_options
@neo4j_options
@graph_options
def sync(since, until, overlap, pstn, batch_size, writers, and_summarize, uri, username, password, database, **o):
    """Fetch call records from Microsoft Graph and load them into Neo4j as they arrive.

    \b
    Without --since it continues from the watermark stored in Neo4j (a SyncState node per
    tenant), listing again the last --overlap before it, and fetches only records that are
    new or have a newer version than the one stored; a re-run loads nothing new. The first
    sync of a tenant covers the last 30 days, all that Graph keeps. Records that failed or
    were not found yet are kept as pending and asked for again by the next sync.

    \b
    Exit status: 0 all loaded, 1 something failed, is pending or was rejected, 2 usage error.
    """
    now = datetime.now(timezone.utc)
    since_at, until_at = parse_time_option(since, now, "--since"), parse_time_option(until, now, "--until")
    try:
        overlap_td = parse_duration(overlap)
    except ValueError as exc:
        raise ParameterError(f"--overlap: {exc}") from None
    client = _client(o)
    started = time.monotonic()

    def on_problem(problem: Problem) -> None:
        echo_over(f"rejected: {problem}")

    with client, open_graph(uri, username, password, database) as graph:
        ensure_schema(graph)
        with progress_bar(enabled=not o["quiet"] and sys.stderr.isatty()) as bar:
            report = run_sync(graph, client, since=since_at, until=until_at, overlap=overlap_td, ids=o["ids"],
                              pstn=pstn, participants=not o["no_participants"], workers=o["workers"],
                              not_found_schedule=_schedule(o["not_found_retries"]), batch_size=batch_size,
                              writers=writers, now=now, on_note=echo_over, on_problem=on_problem,
                              on_record=lambda fetcher, loaded: _show_fetch(bar, fetcher, client, started, loaded))
        seconds = time.monotonic() - started
        window = report.window
        head = (f"sync of {window.since:%Y-%m-%dT%H:%M:%SZ} .. {window.until:%Y-%m-%dT%H:%M:%SZ}"
                + (" (from the watermark)" if window.from_watermark else "")) if window else "sync of given ids"
        lines = [head] + _report_lines(report.fetcher, client, seconds) + [format_summary(report.load, seconds)]
        if report.pstn:
            p = report.pstn
            lines += [f"rejected: {line}" for line in p.rejected]
            lines.append("PSTN: " + ", ".join(f"{n} {function} rows" for function, n in p.rows.items())
                         + f"; linked to call records: {p.linked['id']} by id, "
                         f"{p.linked['userTimeWindow']} by user and time window")
        click.echo("\n".join(lines), err=True)
        after_load(graph, and_summarize)
    if not report.ok:
        sys.exit(1)
