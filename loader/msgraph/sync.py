"""Sync: fetch call records from Microsoft Graph and load them as they arrive, keeping a watermark.

The workflow behind ``callgraph sync``, as a library function: plan the window from the
tenant's SyncState (or the one given), list and fetch only what is new or newer than what is
stored (the loader's version rule, :func:`loader.msgraph.fetch.needs_fetch`), stream the
records through the one write path (:func:`loader.store.load.load_records`), optionally
pull the PSTN and Direct Routing logs, then move the watermark over a completely listed
window and keep what is still missing as pending for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from ..ingest.files import Item
from ..ingest.pstn import transform_log_row
from ..ingest.transform import RecordError
from ..model import LOG_ROW_KINDS, PART_OF_TOLERANCE_SECONDS
from ..store.connection import Graph
from ..store.load import Problem, Summary, load_records
from ..store.logrows import link_log_rows, write_log_rows
from ..store.syncstate import read_sync_state, save_sync_state, stored_versions
from .client import GraphClient
from .fetch import (
    DEFAULT_NOT_FOUND_SCHEDULE,
    RETENTION,
    Fetcher,
    Window,
    native,
    needs_fetch,
    next_watermark,
    plan_window,
    pstn_rows,
)


@dataclass
class PstnReport:
    rows: dict = field(default_factory=dict)  # Graph function -> rows written
    linked: dict = field(default_factory=dict)  # method -> rows linked to a call record
    rejected: list = field(default_factory=list)  # one line per row that could not be read


@dataclass
class SyncReport:
    """What one sync did: its window (None for given ids only), the fetch side's report, the
    load's summary, the PSTN logs' counts when asked for, and pending records given up on."""

    window: Window | None
    fetcher: Fetcher
    load: Summary
    pstn: PstnReport | None = None
    given_up: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.fetcher.report.failed or self.fetcher.report.pending or self.load.counts["rejected"])


def sync(graph: Graph, client: GraphClient, *, since: datetime | None = None, until: datetime | None = None,
         overlap: timedelta = timedelta(hours=8), ids: Iterable[str] = (), pstn: bool = False,
         participants: bool = True, workers: int = 8,
         not_found_schedule: Iterable[float] = DEFAULT_NOT_FOUND_SCHEDULE, batch_size: int = 100, writers: int = 3,
         now: datetime | None = None, on_note: Callable[[str], None] | None = None,
         on_record: Callable[[Fetcher, int], None] | None = None,
         on_problem: Callable[[Problem], None] | None = None) -> SyncReport:
    """Sync the tenant ``client`` signs in to into ``graph``.

    Without ``since`` it continues from the stored watermark, listing again ``overlap`` before
    it; with only ``ids`` it fetches those records. ``on_record(fetcher, loaded)`` is called in the
    caller's thread as records arrive (for progress), ``on_note`` with what the run
    decided (the first sync's 30 days, pending records given up on).
    """
    now = now or datetime.now(timezone.utc)
    ids = list(ids)
    tenant = client.settings.tenant_id
    state = read_sync_state(graph, tenant)
    window = None if ids and since is None else plan_window(state, since, until, overlap, now)
    if window and window.note and on_note:
        on_note(window.note)
    pending = dict(zip((state or {}).get("pendingIds") or [], (state or {}).get("pendingSince") or []))
    asked = ids or list(pending)

    def skip(stubs: list[dict]) -> set:
        stored = stored_versions(graph, [s["id"] for s in stubs])
        return {s["id"] for s in stubs if not needs_fetch(s, stored.get(s["id"]), participants)}

    fetcher = Fetcher(client, workers, participants, not_found_schedule, skip=skip)
    loaded = 0

    def items():
        for record in fetcher.records(window.since if window else None, window.until if window else None, asked):
            yield Item(f"graph:{record['id']}", record=record)
            if on_record:
                on_record(fetcher, loaded)

    def on_batch(summary: Summary) -> None:  # in a writer thread: counted here, drawn by the caller
        nonlocal loaded
        loaded = summary.read

    summary = load_records(graph, items(), batch_size=batch_size, writers=writers, tenant_id=tenant,
                           on_batch=on_batch, on_problem=on_problem)
    report = SyncReport(window, fetcher, summary)
    if pstn and window:
        report.pstn = sync_pstn(graph, client, window, overlap)
    report.given_up = save_state(graph, tenant, state, window, pending, fetcher, asked, now)
    for rid in report.given_up:
        if on_note:
            on_note(f"given up: {rid}: pending for more than 30 days, Graph no longer keeps it")
    return report


def save_state(graph: Graph, tenant: str, state: dict | None, window: Window | None, pending: dict,
               fetcher: Fetcher, asked: list, now: datetime) -> list[str]:
    """Advance the watermark over a completely listed window; keep what is still missing as
    pending. Returns the pending ids given up on (older than Graph keeps records)."""
    report = fetcher.report
    still = {rid: pending.get(rid, now) for rid in {**report.failed, **report.pending}}
    for rid, first in pending.items():
        if rid not in asked and rid not in still:
            still[rid] = first  # not asked this time (an --id run): keep it for the next sync
    cutoff = now - RETENTION
    given_up = sorted(rid for rid, first in still.items() if native(first) < cutoff)
    for rid in given_up:
        del still[rid]
    props = {"pendingIds": sorted(still), "pendingSince": [still[rid] for rid in sorted(still)], "lastSyncAt": now}
    if window:
        props.update(lastSince=window.since, lastUntil=window.until, watermark=next_watermark(state, window))
    save_sync_state(graph, tenant, props)
    return given_up


def sync_pstn(graph: Graph, client: GraphClient, window: Window, overlap: timedelta) -> PstnReport:
    """PSTN and Direct Routing rows of the window, written in batches, then linked to records."""
    report = PstnReport()
    for kind in LOG_ROW_KINDS:
        function = kind.function
        batch, report.rows[function] = [], 0
        for row in pstn_rows(client, function, window.since, window.until):
            try:
                batch.append(transform_log_row(row, kind.label))
            except RecordError as exc:
                rid = row.get("id") if isinstance(row, dict) else "?"
                report.rejected.append(f"{kind.source}: row {rid}: {exc}")
                continue
            if len(batch) >= 1000:
                report.rows[function] += write_log_rows(graph, batch)
                batch = []
        if batch:
            report.rows[function] += write_log_rows(graph, batch)
    # rows of the overlap too: their records may have arrived (or been re-issued) since the last run
    report.linked = link_log_rows(graph, window.since - overlap, window.until, PART_OF_TOLERANCE_SECONDS)
    return report

