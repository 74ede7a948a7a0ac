"""Export: call records as CSV files for ``neo4j-admin database import``.

The offline import is the fastest way to put a first, large backfill into a fresh
database. The rows are the transform's, so the imported graph is the one ``callgraph load``
would build: same labels, keys, properties and relationships.

Two passes keep memory flat: the first transforms each record and spools its rows to
temporary JSON Lines files (one per label or relationship type) while it learns each
column's type; the second writes each CSV with its typed header. Which version of a record
is kept, and which parts of it, is decided by the rule ``load`` uses
(:func:`loader.store.versions.decide`): the newest version, completed by a later copy of the
same version that has the parts it lacked. A shared node (Endpoint, Relay) is written once.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..model import NODE_BY_LABEL, RELS, prop_kinds
from .load import Problem, Summary
from ..ingest.files import Item
from ..ingest.transform import RecordError, record_id_of, transform_record
from ..ingest.values import Timestamp
from ..ingest.tree import ROOT
from .versions import COMPLETED, Held, after, decide

ARRAY_DELIMITER = ";"


@dataclass
class _Spool:
    """Rows of one file on disk, and what is known of their columns."""

    path: Path
    handle: object
    known: dict  # name -> import type, for the properties the model gives a kind
    columns: dict = field(default_factory=dict)  # name -> import type
    rows: int = 0


# The import type of each model kind (loader.ingest.values converts to these; durations are ms).
_KIND_TYPES = {"string": "string", "enum": "string", "int": "long", "float": "double", "bool": "boolean",
               "datetime": "datetime", "duration": "double", "string[]": "string[]", "enum[]": "string[]"}
# file name (a label, or TYPE__Start__End) -> the import types the model gives its properties
_MODEL_TYPES = {name: {prop: _KIND_TYPES[kind] for prop, kind in prop_kinds(entity).items()}
                for name, entity in [*NODE_BY_LABEL.items(),
                                     *((f"{r.type}__{r.start}__{r.end}", r) for r in RELS)]}


def _import_type(value: object) -> str:
    """The import type of a value whose property the model does not know (derived, or a member
    Graph added later), guessed from the value."""
    if isinstance(value, Timestamp):
        return "datetime"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        inner = {_import_type(v) for v in value} or {"string"}
        return (inner.pop() if len(inner) == 1 else "string") + "[]"
    return "string"


class Exporter:
    def __init__(self, out: Path):
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix="callgraph-export-"))
        self.spools: dict[str, _Spool] = {}
        # record id -> (what is kept of it, as the version rule sees it; the (sequence, part) rows kept)
        self.held: dict[str, tuple[Held, list]] = {}
        self.completed: set = set()  # ids of records whose row is merged from several copies
        self.summary = Summary()

    def _spool(self, name: str) -> _Spool:
        if name not in self.spools:
            path = self.tmp / f"{name}.jsonl"
            self.spools[name] = _Spool(path, open(path, "w", encoding="utf-8"), _MODEL_TYPES.get(name, {}))
        return self.spools[name]

    def _add(self, name: str, tag: list, row: dict) -> None:
        spool = self._spool(name)
        for column, value in row.items():
            if column in spool.known:
                spool.columns.setdefault(column, spool.known[column])
                continue
            kind = _import_type(value)
            if spool.columns.setdefault(column, kind) != kind:
                spool.columns[column] = "string"  # a member Graph sent with varying types
        spool.handle.write(json.dumps([tag, row]) + "\n")

    def add(self, items: Iterable[Item], tenant_id: str | None = None) -> None:
        """Pass 1: transform every record and spool the rows of the parts the version rule keeps."""
        for sequence, item in enumerate(items):
            if item.ignored or item.kind != "callRecord":
                what = item.ignored or f"a {item.kind} row (load these with callgraph load after the import)"
                self.summary.ignored[(item.origin.split(":")[0], what)] += 1
                continue
            try:
                if item.error:
                    raise RecordError(item.error)
                rows = transform_record(item.record, tenant_id=tenant_id, source=item.origin)
            except RecordError as exc:
                self.summary.counts["rejected"] += 1
                self.summary.problems.append(Problem(item.origin, record_id_of(item.record), str(exc)))
                continue
            held, kept = self.held.get(rows.id, (None, []))
            outcome, parts = decide(rows.held, held)
            self.summary.counts[outcome] += 1
            if not parts:
                continue
            kept = kept + [(sequence, part) for part in parts] if outcome == COMPLETED else \
                [(sequence, part) for part in parts]
            self.held[rows.id] = (after(outcome, rows.held, held), kept)
            if outcome == COMPLETED:
                self.completed.add(rows.id)
            for part in parts:
                tag = [sequence, part]
                for label, key, props in rows.node_rows([part]):
                    self._add(label, tag, {NODE_BY_LABEL[label].key: key, **props})
                for (start, rel_type, end), rel in rows.rel_rows([part]):
                    self._add(f"{rel_type}__{start}__{end}", tag,
                              {":START_ID": rel["start"], ":END_ID": rel["end"], **rel["props"]})

    def finish(self) -> list[str]:
        """Pass 2: write the CSVs; returns the neo4j-admin arguments that import them."""
        self.out.mkdir(parents=True, exist_ok=True)
        keep = {tag for _, kept in self.held.values() for tag in kept}
        args = []
        for name, spool in sorted(self.spools.items()):
            spool.handle.close()
            target = self.out / f"{name}.csv"
            if "__" in name:
                rel_type, start, end = name.split("__")
                spool.rows = self._write_csv(spool, target, keep, shared=None,
                                             id_columns={":START_ID": f":START_ID({start})", ":END_ID": f":END_ID({end})"})
                args.append(f"--relationships={rel_type}={target.name}")
            else:
                node = NODE_BY_LABEL[name]
                spool.rows = self._write_csv(spool, target, keep, shared=None if node.owned else node.key,
                                             id_columns={node.key: f"{node.key}:ID({name})"},
                                             merged=node.key if name == ROOT else None)
                args.append(f"--nodes={name}={target.name}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.summary.elements = sum(s.rows for s in self.spools.values())
        return args

    def _write_csv(self, spool: _Spool, target: Path, keep: set, shared: str | None, id_columns: dict,
                   merged: str | None = None) -> int:
        """Write the kept rows; ``shared``: write each key once; ``merged``: a completed record's
        rows of the same key are merged as the load's completion does (a later value wins
        where it is not null)."""
        columns = list(spool.columns)
        pending: dict = {}  # completed record id -> its merged row, written at the end
        header = [id_columns.get(c) or f"{c}:{spool.columns[c]}" for c in columns]
        seen: set = set()
        written = 0
        with open(spool.path, encoding="utf-8") as rows, open(target, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for line in rows:
                tag, row = json.loads(line)
                if shared is None and tuple(tag) not in keep:
                    continue  # a row of a record version that a newer one replaced
                if shared is not None:
                    if row[shared] in seen:
                        continue
                    seen.add(row[shared])
                if merged is not None and row[merged] in self.completed:
                    into = pending.setdefault(row[merged], {})
                    into.update({k: v for k, v in row.items() if v is not None})
                    continue
                writer.writerow([_cell(row.get(c)) for c in columns])
                written += 1
            for row in pending.values():
                writer.writerow([_cell(row.get(c)) for c in columns])
                written += 1
        return written


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(_cell(v) for v in value)
    return str(value)


def export_neo4j_admin(items: Iterable[Item], out: Path, tenant_id: str | None = None) -> tuple[Summary, list[str]]:
    exporter = Exporter(out)
    exporter.add(items, tenant_id)
    return exporter.summary, exporter.finish()


def import_command(out: Path, args: list[str], database: str = "neo4j", admin: str = "neo4j-admin") -> str:
    """The import command line, with absolute file paths so that it runs from anywhere.

    The database name goes first: each --nodes/--relationships option takes several files.
    """
    files = []
    for arg in args:  # --nodes=Label=File.csv
        option, name, file = arg.split("=", 2)
        files.append(shlex.quote(f"{option}={name}={out.resolve() / file}"))
    return (f"{admin} database import full {database} --overwrite-destination "
            f"--array-delimiter='{ARRAY_DELIMITER}' --multiline-fields=true "
            + shlex.quote(f"--report-file={out.resolve() / 'import.report'}") + " " + " ".join(files))
