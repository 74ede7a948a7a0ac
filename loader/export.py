"""Export: call records as CSV files for ``neo4j-admin database import``.

The offline import is the fastest way to put a first, large backfill into a fresh
database. The rows are the transform's, so the imported graph is the one ``callgraph load``
would build: same labels, keys, properties and relationships.

Two passes keep memory flat: the first transforms each record and spools its rows to
temporary JSON Lines files (one per label or relationship type) while it learns each
column's type; the second writes each CSV with its typed header. Only the newest version
of a record is kept, and a shared node (Endpoint, Relay) is written once.
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

from .model import NODE_BY_LABEL
from .pipeline import Problem, Summary
from .source import Item
from .transform import RecordError, record_id_of, transform_record
from .values import Timestamp
from .write import is_later

ARRAY_DELIMITER = ";"


@dataclass
class _Spool:
    """Rows of one file on disk, and what is known of their columns."""

    path: Path
    handle: object
    columns: dict = field(default_factory=dict)  # name -> import type, or "mixed"
    rows: int = 0


def _import_type(value: object) -> str:
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
        self.newest: dict[str, tuple] = {}  # record id -> (version, lastModified, sequence)
        self.summary = Summary()

    def _spool(self, name: str) -> _Spool:
        if name not in self.spools:
            path = self.tmp / f"{name}.jsonl"
            self.spools[name] = _Spool(path, open(path, "w", encoding="utf-8"))
        return self.spools[name]

    def _add(self, name: str, sequence: int, row: dict) -> None:
        spool = self._spool(name)
        for column, value in row.items():
            kind = _import_type(value)
            if spool.columns.setdefault(column, kind) != kind:
                spool.columns[column] = "string"  # a member Graph sent with varying types
        spool.handle.write(json.dumps([sequence, row]) + "\n")

    def add(self, items: Iterable[Item], tenant_id: str | None = None) -> None:
        """Pass 1: transform every record and spool its rows."""
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
            mine = (rows.version, rows.last_modified, sequence)
            if rows.id in self.newest and not is_later(mine, self.newest[rows.id]):
                self.summary.counts["older"] += 1
                continue
            if rows.id in self.newest:
                self.summary.counts["replaced"] += 1
            else:
                self.summary.counts["loaded"] += 1
            self.newest[rows.id] = mine
            for part in rows.parts.values():
                for label, nodes in part["nodes"].items():
                    key = NODE_BY_LABEL[label].key
                    for node_key, props in nodes.items():
                        self._add(label, sequence, {key: node_key, **props})
                for (start, rel_type, end), rels in part["rels"].items():
                    for rel in rels:
                        self._add(f"{rel_type}__{start}__{end}", sequence,
                                  {":START_ID": rel["start"], ":END_ID": rel["end"], **rel["props"]})

    def finish(self) -> list[str]:
        """Pass 2: write the CSVs; returns the neo4j-admin arguments that import them."""
        self.out.mkdir(parents=True, exist_ok=True)
        keep = {entry[2] for entry in self.newest.values()}
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
                                             id_columns={node.key: f"{node.key}:ID({name})"})
                args.append(f"--nodes={name}={target.name}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.summary.elements = sum(s.rows for s in self.spools.values())
        return args

    def _write_csv(self, spool: _Spool, target: Path, keep: set, shared: str | None, id_columns: dict) -> int:
        columns = list(spool.columns)
        header = [id_columns.get(c) or f"{c}:{spool.columns[c]}" for c in columns]
        seen: set = set()
        written = 0
        with open(spool.path, encoding="utf-8") as rows, open(target, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for line in rows:
                sequence, row = json.loads(line)
                if sequence not in keep and shared is None:
                    continue  # a row of a record version that a newer one replaced
                if shared is not None:
                    if row[shared] in seen:
                        continue
                    seen.add(row[shared])
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
