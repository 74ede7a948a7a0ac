"""Get call records from Graph: list a window or take ids, fetch each record whole, stream them out.

The shape is cartography's get -> transform -> load, with the get side running ahead of
the load side: one thread lists pages, a few workers fetch complete records, and the
caller's thread consumes finished records (writing a file, or feeding
:func:`loader.store.load.load_records`). The queues between them are bounded, so memory
stays flat however many records a window holds: when the loader is slow, fetching waits.

What "complete" means (reference 4.2, lessons 2): ``GET {id}?$expand=sessions($expand=segments)``,
then ``sessions@odata.nextLink`` followed verbatim and each page's ``@odata.nextLink``,
then ``/participants_v2`` paged the same way. A record that answers 404 while it may
still be in the making (younger than Graph's availability delay, or asked for by id) is
retried on a schedule, then reported as pending, never silently dropped.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import quote

from ..ingest.values import FieldError, to_timestamp
from ..times import parse_timestamp
from ..store.versions import OLDER, UNCHANGED, Held, decide
from .client import GraphClient, NotFound, RequestFailed

LIST_PATH = "/communications/callRecords"
AVAILABILITY_DELAY = timedelta(minutes=150)  # first version within 150 min of call end (reference 4.10)
RETENTION = timedelta(days=30)  # Graph keeps records 30 days
DEFAULT_NOT_FOUND_SCHEDULE = (60.0, 300.0, 900.0)  # seconds before the 2nd, 3rd, 4th try of a 404
PSTN_CHUNK = timedelta(days=90)  # the functions refuse longer ranges (406)


# --- time ----------------------------------------------------------------------------------

def odata_time(when: datetime) -> str:
    """The unquoted DateTimeOffset literal Graph's filters and functions take: 2024-05-01T08:00:00Z."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_time(value: object) -> datetime | None:
    """A stub's timestamp as a datetime, or None when it has none that parses."""
    try:
        return parse_timestamp(value) if isinstance(value, str) else None
    except ValueError:
        return None


# --- one record ----------------------------------------------------------------------------

def record_url(client: GraphClient, record_id: str) -> str:
    return client.url(f"{LIST_PATH}/{quote(record_id, safe='')}")


def fetch_record(client: GraphClient, record_id: str, participants: bool = True) -> dict:
    """One complete call record: sessions with segments, every page, and participants_v2."""
    buckets = [("record", record_id)]
    url = record_url(client, record_id)
    record = client.get(url, buckets, params={"$expand": "sessions($expand=segments)"})
    sessions = record.get("sessions")
    if not isinstance(sessions, list):
        sessions = record["sessions"] = []
    link = record.pop("sessions@odata.nextLink", None)
    while link:  # exactly as returned: adding $expand again breaks it (lessons 2)
        page = client.get(link, buckets)
        sessions.extend(page.get("value") or [])
        link = page.get("@odata.nextLink")
    if participants:
        everyone: list = []
        for page in client.pages(url + "/participants_v2", buckets):
            everyone.extend(page.get("value") or [])
        record.pop("participants_v2@odata.nextLink", None)
        record["participants_v2"] = everyone
    return record


def list_pages(client: GraphClient, since: datetime, until: datetime) -> Iterator[dict]:
    """List callRecords pages for records that started in [since, until)."""
    params = {"$filter": f"startDateTime ge {odata_time(since)} and startDateTime lt {odata_time(until)}"}
    yield from client.pages(client.url(LIST_PATH), [("list",)], params)


def pstn_chunks(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    chunks, start = [], since
    while start < until:
        end = min(start + PSTN_CHUNK, until)
        chunks.append((start, end))
        start = end
    return chunks


def pstn_rows(client: GraphClient, function: str, since: datetime, until: datetime) -> Iterator[dict]:
    """Every row of getPstnCalls/getDirectRoutingCalls in [since, until], in <= 90-day chunks.

    Parameters are unquoted timestamps, as the docs show
    (``getPstnCalls(fromDateTime=2019-11-01T00:00:00Z,toDateTime=...)``); pages of 1,000
    rows follow ``@odata.nextLink``. Chunk edges may repeat a row: rows are merged by id.
    """
    for start, end in pstn_chunks(since, until):
        url = client.url(f"{LIST_PATH}/{function}(fromDateTime={odata_time(start)},toDateTime={odata_time(end)})")
        for page in client.pages(url, [("pstn",)]):
            yield from page.get("value") or []


# --- many records, streamed ----------------------------------------------------------------

@dataclass
class Report:
    """Counts for the summary; ``failed`` and ``pending`` map record ids to the reason."""

    listed: int = 0
    skipped: int = 0  # already stored at this version, complete
    fetched: int = 0
    not_found_retries: int = 0
    failed: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)  # still 404 after the schedule, may yet appear
    to_fetch: int | None = None  # records to GET (ids given, listed and not skipped), once the listing is done

    @property
    def finished(self) -> int:
        """Records done with: fetched, failed or pending (of ``to_fetch``)."""
        return self.fetched + len(self.failed) + len(self.pending)


@dataclass
class _Task:
    record_id: str
    ended: datetime | None = None  # from the list page; None when asked for by id
    attempt: int = 0


class _Stop(Exception):
    pass


class Fetcher:
    """Lists or takes ids, fetches complete records with ``workers`` threads, yields them.

    ``skip(stubs)`` (sync) gets each list page's records and returns the ids that need no
    GET because the database already holds them complete at that version.
    """

    def __init__(self, client: GraphClient, workers: int = 8, participants: bool = True,
                 not_found_schedule: Iterable[float] = DEFAULT_NOT_FOUND_SCHEDULE,
                 skip: Callable[[list[dict]], set] | None = None, now: Callable[[], datetime] | None = None):
        self.client = client
        self.workers = max(1, workers)
        self.participants = participants
        self.schedule = tuple(not_found_schedule)
        self.skip = skip
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.report = Report()
        self._lock = threading.Lock()
        self._tasks: queue.Queue = queue.Queue(maxsize=self.workers * 2)
        self._results: queue.Queue = queue.Queue(maxsize=self.workers * 2)
        self._stop = threading.Event()
        self._outstanding = 0
        self._timers: list[threading.Timer] = []

    # The consumer side -------------------------------------------------------------------

    def records(self, since: datetime | None = None, until: datetime | None = None,
                ids: Iterable[str] = ()) -> Iterator[dict]:
        """Complete records, as they are fetched (order not kept). Raises what stops the run."""
        threads = [threading.Thread(target=self._produce, args=(since, until, list(ids)), daemon=True,
                                    name="callgraph-list")]
        threads += [threading.Thread(target=self._work, daemon=True, name=f"callgraph-fetch-{i}")
                    for i in range(self.workers)]
        for thread in threads:
            thread.start()
        produced = False
        try:
            while True:
                kind, payload = self._results.get()
                if kind == "error":
                    raise payload
                if kind == "listed":
                    produced = True
                elif kind == "record":
                    yield payload
                    self._finish()
                elif kind in ("failed", "pending"):
                    self._finish()
                with self._lock:
                    if produced and self._outstanding == 0:
                        return
        finally:
            self._stop.set()
            for timer in self._timers:
                timer.cancel()

    def _finish(self) -> None:
        with self._lock:
            self._outstanding -= 1

    # The producer: list pages or ids ----------------------------------------------------------

    def _produce(self, since, until, ids) -> None:
        try:
            seen: set = set()
            submitted = 0
            for record_id in ids:
                if record_id not in seen:
                    seen.add(record_id)
                    self._submit(_Task(record_id))
                    submitted += 1
            if since is not None:
                for page in list_pages(self.client, since, until):
                    stubs = [s for s in page.get("value") or [] if isinstance(s, dict) and isinstance(s.get("id"), str)]
                    fresh = [s for s in stubs if s["id"] not in seen]
                    seen.update(s["id"] for s in fresh)
                    with self._lock:
                        self.report.listed += len(fresh)
                    skipped = self.skip(fresh) if self.skip and fresh else set()
                    with self._lock:
                        self.report.skipped += len(skipped)
                    for stub in fresh:
                        if stub["id"] not in skipped:
                            self._submit(_Task(stub["id"], _graph_time(stub.get("endDateTime"))))
                            submitted += 1
            self.report.to_fetch = submitted
            self._put(self._results, ("listed", None))
        except _Stop:
            pass
        except Exception as exc:  # a list page that failed for good: the run cannot be complete
            self._put(self._results, ("error", exc), force=True)

    def _submit(self, task: _Task) -> None:
        with self._lock:
            self._outstanding += 1
        self._put(self._tasks, task)

    def _put(self, q: queue.Queue, item, force: bool = False) -> None:
        """put() that gives up when the run stops (the consumer may be gone)."""
        while True:
            if self._stop.is_set() and not force:
                raise _Stop()
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                if force and self._stop.is_set():
                    return

    # The workers ----------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                task = self._tasks.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                result = self._fetch(task)
                if result is not None:
                    self._put(self._results, result)
            except _Stop:
                return
            except Exception as exc:  # GraphError and bugs: stop the run, say why
                self._put(self._results, ("error", exc), force=True)
                return

    def _fetch(self, task: _Task):
        try:
            record = fetch_record(self.client, task.record_id, self.participants)
        except NotFound:
            return self._not_found(task)
        except RequestFailed as exc:
            with self._lock:
                self.report.failed[task.record_id] = str(exc)
            return ("failed", task.record_id)
        with self._lock:
            self.report.fetched += 1
        return ("record", record)

    def _not_found(self, task: _Task):
        """Retry later while the record may still be in the making; then report it."""
        now = self.now()
        age = now - task.ended if task.ended else None
        if age is not None and age > RETENTION:
            reason = "404: older than the 30 days Graph keeps call records"
        elif age is not None and age > AVAILABILITY_DELAY:
            reason = f"404 although the call ended {age.total_seconds() / 60:.0f} min ago"
        elif task.attempt < len(self.schedule):
            delay = self.schedule[task.attempt]
            retry = _Task(task.record_id, task.ended, task.attempt + 1)
            timer = threading.Timer(delay, self._resubmit, args=(retry,))
            timer.daemon = True
            with self._lock:
                self.report.not_found_retries += 1
                self._timers.append(timer)
            timer.start()
            return None  # still outstanding
        else:
            with self._lock:
                self.report.pending[task.record_id] = (
                    f"404 after {task.attempt + 1} tries over {sum(self.schedule):.0f}s: not generated yet?")
            return ("pending", task.record_id)
        with self._lock:
            self.report.failed[task.record_id] = reason
        return ("failed", task.record_id)

    def _resubmit(self, task: _Task) -> None:
        try:
            self._put(self._tasks, task)
        except _Stop:
            pass


# --- sync decisions ------------------------------------------------------------------------

def needs_fetch(stub: dict, stored: Held | None, participants: bool) -> bool:
    """Whether a listed record must be fetched: what the full record would do to the one stored,
    by the loader's version rule, is anything but 'older' or 'unchanged'."""
    try:
        modified = to_timestamp(stub.get("lastModifiedDateTime"), "lastModifiedDateTime")
    except FieldError:
        modified = None
    listed = Held(_int(stub.get("version")), modified, True, participants)
    return decide(listed, stored)[0] not in (OLDER, UNCHANGED)


def native(value):
    """A neo4j.time.DateTime as a Python datetime (microseconds are plenty to compare versions)."""
    return value.to_native() if hasattr(value, "to_native") else value


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


@dataclass
class Window:
    """What a sync covers, and why."""

    since: datetime
    until: datetime
    from_watermark: bool
    note: str = ""


def plan_window(state: dict | None, since: datetime | None, until: datetime | None, overlap: timedelta,
                now: datetime) -> Window:
    """An explicit window, or the stored watermark minus the overlap up to now.

    The overlap re-scans the trailing part of the last window because a record is listed by
    its start time but appears up to 150 min after the call *ended* (reference 4.10).
    """
    until = until or now
    if since is not None:
        return Window(since, until, False)
    watermark = state.get("watermark") if state else None
    if watermark is None:
        return Window(now - RETENTION, until, True, "no watermark yet: syncing the last 30 days (all Graph keeps)")
    watermark = native(watermark)
    return Window(max(watermark - overlap, now - RETENTION), until, True)


def next_watermark(state: dict | None, window: Window) -> datetime | None:
    """The watermark after a complete run over ``window``: it never moves back or over a gap."""
    old = native(state.get("watermark")) if state else None
    if old is None:
        return window.until
    if window.since <= old:
        return max(old, window.until)
    return old  # an explicit window after a gap: the gap is still unsynced
