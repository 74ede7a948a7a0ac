"""The load pipeline: source -> transform -> write, in batches, with counts for the summary.

Kept apart from the CLI so that ``callgraph load``, ``callgraph demo`` and later
``callgraph sync`` share it: whatever produces Graph JSON records feeds :func:`load_records`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .source import Item, expand_paths, read_items
from .transform import RecordError, RecordRows, record_id_of, transform_record
from .write import Graph, write_batch


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

    @property
    def read(self) -> int:
        return sum(self.counts.values())


def items_from_paths(paths: list[str]) -> Iterator[Item]:
    for path in expand_paths(paths):
        yield from read_items(path)


def load_records(graph: Graph, items: Iterable[Item], batch_size: int = 100, tenant_id: str | None = None,
                 on_batch: Callable[[Summary], None] | None = None,
                 on_problem: Callable[[Problem], None] | None = None) -> Summary:
    """Transform and write every item; bad ones are reported and never stop the good ones."""
    summary = Summary()
    batch: dict[str, RecordRows] = {}

    def flush() -> None:
        if batch:
            result = write_batch(graph, list(batch.values()))
            summary.counts.update(result.counts)
            summary.elements += result.elements
            batch.clear()
            if on_batch:
                on_batch(summary)

    for item in items:
        if item.ignored:
            summary.ignored[(item.origin.split(":")[0], item.ignored)] += 1
            continue
        if item.error:
            _reject(summary, Problem(item.origin, None, item.error), on_problem)
            continue
        try:
            rows = transform_record(item.record, tenant_id=tenant_id, source=item.origin)
        except RecordError as exc:
            _reject(summary, Problem(item.origin, record_id_of(item.record), str(exc)), on_problem)
            continue
        if rows.id in batch:
            flush()  # one transaction sees each record once; the next decides against this one
        batch[rows.id] = rows
        if len(batch) >= batch_size:
            flush()
    flush()
    return summary


def _reject(summary: Summary, problem: Problem, on_problem) -> None:
    summary.counts["rejected"] += 1
    summary.problems.append(problem)
    if on_problem:
        on_problem(problem)
