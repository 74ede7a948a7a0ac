"""The typed tree of one call record, as the transform builds it and the writer, the exporter
and the tests walk it.

Rows follow :mod:`loader.model`: nodes by label and key, relationships by (start label,
type, end label). They are kept in four parts (``record``, ``organizer``, ``participants``,
``sessions``) so that a record stored at the same version can be completed with the parts
it lacked (:mod:`loader.store.versions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..model import CALL_RECORD_NODE
from ..store.versions import Held
ROOT = CALL_RECORD_NODE.label  # the node a record's tree hangs from


@dataclass
class RecordRows:
    """The rows of one call record, keyed so that repeats inside the record collapse.

    Rows are kept in four parts so that the writer can complete a record it already holds
    at the same version: a list page gives the record without ``sessions``, a later GET with
    ``$expand=sessions`` or ``$expand=participants_v2`` adds them.
    """

    id: str
    version: int
    last_modified: object  # values.Timestamp or None
    has_sessions: bool = False
    has_participants: bool = False
    parts: dict = field(default_factory=dict)  # part -> {"nodes": {label: {key: props}}, "rels": {...}}

    def _part(self, part: str) -> dict:
        rows = self.parts.get(part)  # not setdefault: that builds the empty part on every call
        if rows is None:
            rows = self.parts[part] = {"nodes": {}, "rels": {}}
        return rows

    def node(self, label: str, key: str, props: dict, merge: bool = False, part: str = "record") -> None:
        rows = self._part(part)["nodes"].setdefault(label, {})
        if merge and key in rows:
            rows[key].update({k: v for k, v in props.items() if v is not None})
        else:
            rows[key] = props

    def rel(self, start: str, rel_type: str, end: str, start_key: str, end_key: str,
            props: dict | None = None, part: str = "record") -> None:
        self._part(part)["rels"].setdefault((start, rel_type, end), []).append(
            {"start": start_key, "end": end_key, "props": props or {}})

    def nodes(self, label: str) -> dict:
        """All rows of a label across parts (for tests and counts)."""
        merged: dict = {}
        for part in self.parts.values():
            merged.update(part["nodes"].get(label, {}))
        return merged

    def rels(self, start: str, rel_type: str, end: str) -> list:
        return [r for part in self.parts.values() for r in part["rels"].get((start, rel_type, end), [])]

    @property
    def element_count(self) -> int:
        return sum(len(rows) for part in self.parts.values() for rows in part["nodes"].values()) + sum(
            len(rows) for part in self.parts.values() for rows in part["rels"].values())

    @property
    def held(self) -> Held:
        """This record's version as :func:`loader.store.versions.decide` compares it."""
        return Held(self.version or 0, self.last_modified, self.has_sessions, self.has_participants)

    def part_nodes(self, part: str) -> dict:
        """The nodes of one part: label -> key -> properties (the writer's batch loop)."""
        rows = self.parts.get(part)
        return rows["nodes"] if rows else {}

    def part_rels(self, part: str) -> dict:
        """The relationships of one part: (start label, type, end label) -> [{start, end, props}]."""
        rows = self.parts.get(part)
        return rows["rels"] if rows else {}

    def node_rows(self, parts: Iterable[str] | None = None) -> Iterator[tuple[str, str, dict]]:
        """(label, key, properties) of every node in ``parts`` (default: all)."""
        for part in self._chosen(parts):
            for label, rows in part["nodes"].items():
                for key, props in rows.items():
                    yield label, key, props

    def rel_rows(self, parts: Iterable[str] | None = None) -> Iterator[tuple[tuple[str, str, str], dict]]:
        """((start label, type, end label), {"start", "end", "props"}) of every relationship in ``parts``."""
        for part in self._chosen(parts):
            for rel, rows in part["rels"].items():
                for row in rows:
                    yield rel, row

    def _chosen(self, parts: Iterable[str] | None) -> list[dict]:
        if parts is None:
            return list(self.parts.values())
        return [self.parts[p] for p in parts if p in self.parts]
