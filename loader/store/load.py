"""The load pipeline: source -> transform -> write, in batches, with counts for the summary.

Kept apart from the CLI so that ``callgraph load``, ``callgraph demo`` and later
``callgraph sync`` share it: whatever produces Graph JSON records feeds :func:`load_records`.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable, Iterator

from ..ingest.files import Item, ReadPosition, expand_paths, read_items
from ..ingest.transform import RecordError, record_id_of, transform_record
from ..ingest.tree import RecordRows
from ..places.lookup import Lookup
from ..model import CHUNK_ELEMENTS, PART_OF_TOLERANCE_SECONDS
from ..ingest.pstn import LogRow, transform_log_row
from ..queries.summaries import mark_calls_changed
from ..errors import DatabaseError
from .classify import rule_in_force
from .connection import Graph
from .logrows import link_log_rows, write_log_rows
from .places import map_in_force
from .write import delete_orphans, write_batch


@dataclass
class Problem:
    """One rejected record: where it was, which record, and why."""

    origin: str
    record_id: str | None
    reason: str

    def __str__(self) -> str:
        rid = f" record {self.record_id}" if self.record_id else ""
        return f"{self.origin}:{rid} {self.reason}" if rid else f"{self.origin}: {self.reason}"


@dataclass
class Summary:
    counts: Counter = field(default_factory=Counter)  # loaded, replaced, completed, unchanged, older, rejected
    problems: list = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)  # (file, what) -> items skipped as not call records
    elements: int = 0
    log_rows: int = 0  # getPstnCalls / getDirectRoutingCalls rows written
    linked: dict = field(default_factory=dict)  # how many of them were linked to a call record, by method

    @property
    def read(self) -> int:
        return sum(self.counts.values())


def items_from_paths(paths: list[str], position: ReadPosition | None = None) -> Iterator[Item]:
    """The items of every file under ``paths``; ``position`` counts the bytes read over all of
    them. The paths are checked and directories walked here, before anything is read or
    written, so a wrong or unreadable one stops the command at once
    (:class:`loader.errors.InputError`)."""
    files = list(expand_paths(paths))
    position = position or ReadPosition()
    return (item for path in files for item in read_items(path, position))


def load_records(graph: Graph, items: Iterable[Item], batch_size: int = 100, writers: int = 3,
                 tenant_id: str | None = None, rule: str | None = None, places: Lookup | None = None,
                 on_batch: Callable[[Summary], None] | None = None,
                 on_problem: Callable[[Problem], None] | None = None) -> Summary:
    """Transform and write every item; bad ones are reported and never stop the good ones.
    Streams are judged by ``rule``, by default the one in force in the graph
    (:func:`loader.store.classify.rule_in_force`), so that new records agree with the stored ones;
    client ends are placed by ``places``, by default the admin's map in the graph
    (:func:`loader.store.places.map_in_force`; none: nothing is placed)."""
    if rule is None:
        rule = rule_in_force(graph).name
    if places is None:
        places = map_in_force(graph)
    summary = Summary()
    batch: dict[str, tuple[str, RecordRows]] = {}  # record id -> (where it was read, its rows)

    unlinked: dict[str, set] = {}  # shared nodes that replaced trees linked to

    def record(result, origins: dict) -> None:
        for rid, reason in result.rejected.items():
            _reject(summary, Problem(origins[rid], rid, reason), on_problem)
        summary.counts.update(result.counts)
        summary.elements += result.elements
        for label, keys in result.unlinked.items():
            unlinked.setdefault(label, set()).update(keys)
        if on_batch:
            on_batch(summary)

    writer = BackgroundWriter(graph, record, writers=writers)
    writing = False

    def flush() -> None:
        nonlocal writing
        if batch:
            if not writing:  # the summaries are stale from the first write (see loader.queries.summaries)
                mark_calls_changed(graph)
                writing = True
            writer.submit(list(batch.values()))
            batch.clear()

    log_rows = LogRows(graph, summary)
    try:
        with writer, prompt_thread_switches():
            _transform_all(items, batch, batch_size, tenant_id, rule, summary, on_problem, flush, log_rows, places)
            flush()
            log_rows.flush()
        delete_orphans(graph, unlinked)
        log_rows.link()
    except DatabaseError:  # the server is away: the summaries were made stale when the writing began
        writing = False
        raise
    finally:
        if writing:  # and again at the end, so a summarize that ran meanwhile is stale too
            mark_calls_changed(graph)
    return summary


@contextmanager
def prompt_thread_switches(seconds: float = 0.0005):
    """Let a writer whose answer has arrived take the GIL back from the transform quickly.

    Python lets a busy thread run 5 ms before another may have the interpreter. A writer
    needs it briefly after every statement of its transaction, so with the default it sat
    idle while Neo4j waited for its next statement (about 10 % of a load's time, measured).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class LogRows:
    """PSTN and Direct Routing rows: merged by id in batches, then linked to call records
    over the time span they cover (after the records themselves are written)."""

    def __init__(self, graph: Graph, summary: Summary, batch_size: int = 1000):
        self.graph, self.summary, self.batch_size = graph, summary, batch_size
        self.batch: list[LogRow] = []
        self.first = self.last = None

    def add(self, row: LogRow) -> None:
        start = row.props.get("startDateTime")
        if start is not None:
            self.first = start if self.first is None or start < self.first else self.first
            self.last = start if self.last is None or start > self.last else self.last
        self.batch.append(row)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.summary.log_rows += write_log_rows(self.graph, self.batch)
            self.batch = []

    def link(self) -> None:
        if self.first is not None:  # Timestamps: the span's ends as datetimes for the query
            since, until = self.first.to_native(), self.last.to_native() + timedelta(seconds=1)
            self.summary.linked = link_log_rows(self.graph, since, until, PART_OF_TOLERANCE_SECONDS)


def _transform_all(items, batch, batch_size, tenant_id, rule, summary, on_problem, flush, log_rows: LogRows,
                   places: Lookup | None = None) -> None:
    elements = 0  # in the batch: a batch of big records is written before it reaches batch_size
    for item in items:
        if item.ignored:
            summary.ignored[(item.origin.split(":")[0], item.ignored)] += 1
            continue
        if item.error:
            _reject(summary, Problem(item.origin, None, item.error), on_problem)
            continue
        if item.kind != "callRecord":
            try:
                log_rows.add(transform_log_row(item.record, item.kind))
            except RecordError as exc:
                _reject(summary, Problem(item.origin, record_id_of(item.record), str(exc)), on_problem)
            continue
        try:
            rows = transform_record(item.record, tenant_id=tenant_id, source=item.origin, rule=rule, places=places)
        except RecordError as exc:
            _reject(summary, Problem(item.origin, record_id_of(item.record), str(exc)), on_problem)
            continue
        if rows.id in batch:
            flush()  # one transaction sees each record once; the next decides against this one
            elements = 0
        batch[rows.id] = (item.origin, rows)
        elements += rows.element_count
        if len(batch) >= batch_size or elements >= CHUNK_ELEMENTS:
            flush()
            elements = 0


class BackgroundWriter:
    """Writes batches on background threads while the caller reads and transforms the next ones.

    Python's transform and Neo4j's work then overlap instead of taking turns, and with two
    or more writers Neo4j works on one transaction while it commits another. Batches that
    share a record id never run at the same time: a batch waits until every earlier batch
    holding one of its ids is done, so a record's version is decided against the one before
    it. A short queue keeps memory bounded; an error in a writer surfaces in the caller.
    """

    def __init__(self, graph: Graph, on_result: Callable, writers: int = 3, depth: int = 2):
        self.graph, self.on_result = graph, on_result
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.cancelled = False  # the caller failed or was interrupted: batches still queued are dropped
        self.done = threading.Condition()
        self.in_flight: dict[int, set] = {}  # batch number -> its record ids, until written
        self.submitted = 0
        self.threads = [threading.Thread(target=self._run, name=f"callgraph-writer-{i}", daemon=True)
                        for i in range(writers)]

    def __enter__(self) -> "BackgroundWriter":
        for thread in self.threads:
            thread.start()
        return self

    def submit(self, records: list[tuple[str, RecordRows]]) -> None:
        """Queue a batch: (where each record was read, its rows)."""
        ids = {r.id for _, r in records}
        with self.done:
            self.done.wait_for(lambda: self.error is not None or not any(ids & s for s in self.in_flight.values()))
            self._raise()
            self.submitted += 1
            self.in_flight[self.submitted] = ids
        self.queue.put((self.submitted, records))
        self._raise()

    def __exit__(self, exc_type, exc, tb) -> None:
        # On an error or Ctrl-C in the caller, the batches being written finish (a transaction
        # commits or not as a whole) and the queued ones are dropped, so the caller's exception
        # follows promptly; the threads end, none of them raising.
        self.cancelled = exc_type is not None
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if exc_type is None:
            self._raise()

    def _run(self) -> None:
        while (job := self.queue.get()) is not None:
            number, records = job
            try:
                if self.error is None and not self.cancelled:
                    result = write_batch(self.graph, [rows for _, rows in records])
                    with self.done:  # one result at a time into the caller's summary
                        self.on_result(result, {rows.id: origin for origin, rows in records})
            except BaseException as exc:  # handed to the caller's thread
                self.error = exc
            finally:
                with self.done:
                    del self.in_flight[number]
                    self.done.notify_all()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def _reject(summary: Summary, problem: Problem, on_problem) -> None:
    summary.counts["rejected"] += 1
    summary.problems.append(problem)
    if on_problem:
        on_problem(problem)
