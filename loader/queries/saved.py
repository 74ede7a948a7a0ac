"""Saved queries: the ``cypher/*.cypher`` files, their headers, typed parameters and results.

A saved query is one file that runs verbatim in Neo4j Browser after the ``:param`` lines
its header shows, and the CLI runs the very same text. The header (``//`` comments at the
top) is the query's metadata::

    // name: shared-relays
    // title: Media relays shared by calls, worst first
    // category: network
    // description: Relays used by at least minCalls distinct call records ...
    //   (continuation lines are indented)
    // param: minCalls int = 2 | example: 5 | relays used by fewer calls are left out
    // param: since datetime = null | example: 2026-11-01T00:00:00Z | calls starting at or after
    // summary: minCalls = 0
    //
    // :param minCalls => 2
    // :param since => null

A ``summary:`` line marks an aggregate whose whole result ``callgraph summarize`` keeps (see
:mod:`loader.queries.summaries`), and names the parameters that keep every row (``summary: as is``
when the defaults do). Queries run in read transactions, so a saved query can never write.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import neo4j
from neo4j.exceptions import ClientError
from neo4j.graph import Node, Path as GraphPath, Relationship
from neo4j.time import Date, DateTime, Duration, Time

from ..errors import ParameterError, QueryError, UsageError
from ..times import parse_when
from ..store.connection import Graph

def _cypher_dir() -> Path:
    """Where the saved queries are: inside the installed package (a wheel carries the files of
    the repository's top-level ``cypher/`` as ``loader/cypher``), else that ``cypher/`` itself, in
    a source checkout or an editable install. There is one copy to edit: the top-level one."""
    packaged = Path(__file__).resolve().parent.parent / "cypher"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "cypher"


CYPHER_DIR = _cypher_dir()
CYPHER_DIR_VARIABLE = "CALLGRAPH_CYPHER_DIR"


def cypher_dir() -> Path:
    """The saved queries' directory: $CALLGRAPH_CYPHER_DIR, for users who keep their own edited
    copy of cypher/, else the shipped :data:`CYPHER_DIR`."""
    chosen = os.environ.get(CYPHER_DIR_VARIABLE)
    if not chosen:
        return CYPHER_DIR
    if not Path(chosen).is_dir():
        raise QueryError(f"{CYPHER_DIR_VARIABLE}={chosen}: no such directory; point it at your copy of cypher/ "
                         "or unset it for the shipped queries")
    return Path(chosen)


TYPES = ("int", "float", "string", "bool", "datetime", "string[]")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: object  # already typed; None for null
    required: bool
    example: str | None
    doc: str

    def describe(self) -> str:
        default = "required" if self.required else f"default {_literal(self.default)}"
        return f"{self.name} ({self.type}, {default})"


@dataclass
class SavedQuery:
    name: str
    title: str
    category: str
    description: str
    params: list[Param]
    text: str  # the whole file: header comments and body, run as is
    path: Path
    browser_params: list[tuple[str, str]] = field(default_factory=list)  # (name, Cypher expression)
    summary: dict[str, object] | None = None  # parameters that keep every row, for summarize; None: not summarized

    @property
    def judges_streams(self) -> bool:
        """Whether its numbers follow the stream verdicts (quality, or the counts of rated and poor
        streams): `callgraph query` then names the rule in force."""
        body = "\n".join(line for line in self.text.splitlines() if not line.startswith("//"))
        return re.search(r"quality|[pP]oorStreams|[rR]atedStreams", body) is not None

    def bind(self, given: dict[str, str]) -> dict[str, object]:
        """Typed parameters from ``key=value`` strings, defaults filled in; clear errors otherwise."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ParameterError(f"{self.name}: unknown parameter {', '.join(unknown)}; it takes "
                             + ", ".join(p.describe() for p in self.params))
        bound = {}
        for p in self.params:
            if p.name in given:
                bound[p.name] = convert_param(p, given[p.name], self.name)
            elif p.required:
                example = f", e.g. -p {p.name}={p.example}" if p.example else ""
                raise ParameterError(f"{self.name}: missing parameter {p.name} ({p.type}){example}")
            else:
                bound[p.name] = p.default
        return bound


_HEADER = re.compile(r"^//\s?(.*)$")
_PARAM = re.compile(r"^param:\s*(\w+)\s+([\w\[\]]+)\s*(?:=\s*(.+))?$")
_BROWSER_PARAM = re.compile(r"^:param\s+(\w+)\s*=>\s*(.+?);?$")


def parse(path: Path) -> SavedQuery:
    """Read one .cypher file; a malformed header is an error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise QueryError(f"{path}: cannot read this saved query ({reason})") from None
    meta: dict[str, str] = {}
    params, browser = [], []
    last = summary_at = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if not m:
            break
        content = m.group(1)
        where = f"{path}:{number}"
        if not content.strip():
            last = None
            continue
        if content.startswith("  ") and last:
            meta[last] += " " + content.strip()
            continue
        if content.startswith(":param"):
            bm = _BROWSER_PARAM.match(content.strip())
            if not bm:
                raise QueryError(f"{where}: expected ':param name => expression'")
            browser.append((bm.group(1), bm.group(2)))
            continue
        if content.startswith("param:"):
            params.append(_parse_param(content, where))
            last = None
            continue
        key, sep, value = content.partition(":")
        if not sep or key not in ("name", "title", "category", "description", "summary"):
            continue  # free comment text
        meta[key] = value.strip()
        last = key if key != "summary" else None
        if key == "summary":
            summary_at = where
    missing = [k for k in ("name", "title", "category", "description") if not meta.get(k)]
    if missing:
        raise QueryError(f"{path}: header lacks {', '.join(missing)}")
    if meta["name"] != path.stem:
        raise QueryError(f"{path}: header name {meta['name']!r} differs from the file name")
    summary = _parse_summary(meta["summary"], params, summary_at) if "summary" in meta else None
    return SavedQuery(meta["name"], meta["title"], meta["category"], meta["description"], params, text, path, browser,
                      summary)


def _parse_summary(value: str, params: list[Param], where: str) -> dict[str, object]:
    """``as is`` or ``name = value, ...``: the parameters that make the query keep every row."""
    known = {p.name: p for p in params}
    lacking = [name for name in ("since", "until", "limit", "fresh") if name not in known]
    if lacking:
        raise QueryError(f"{where}: a summarized query takes since, until, limit and fresh; this one lacks "
                         + ", ".join(lacking))
    if value == "as is":
        return {}
    overrides = {}
    for part in value.split(","):
        name, sep, raw = (x.strip() for x in part.partition("="))
        if not sep or name not in known:
            raise QueryError(f"{where}: expected 'summary: as is' or 'summary: param = value, ...' "
                             f"naming this query's parameters")
        overrides[name] = _header_value(known[name], raw, where)
    return overrides


def _parse_param(content: str, where: str) -> Param:
    head, *rest = [part.strip() for part in content.split("|")]
    m = _PARAM.match(head)
    if not m:
        raise QueryError(f"{where}: expected 'param: name type [= default] [| example: value] [| description]'")
    name, type_, default = m.groups()
    if type_ not in TYPES:
        raise QueryError(f"{where}: unknown type {type_!r}; use one of {', '.join(TYPES)}")
    example = next((part.split(":", 1)[1].strip() for part in rest if part.startswith("example:")), None)
    doc = " ".join(part for part in rest if not part.startswith("example:"))
    required = default is None
    value = None
    if not required and default != "null":
        value = _header_value(Param(name, type_, None, True, None, ""), default.strip("'\""), where)
    return Param(name, type_, value, required, example, doc)


def _header_value(p: Param, raw: str, where: str) -> object:
    """A value written in a header: of the wrong form, it is the file's error, not the user's."""
    try:
        return convert_param(p, raw, where)
    except ParameterError as exc:
        raise QueryError(exc.message) from None


def load_all(directory: Path | None = None) -> dict[str, SavedQuery]:
    """Every saved query of ``directory`` (default: :func:`cypher_dir`) by name."""
    directory = directory or cypher_dir()
    queries = {}
    for path in sorted(directory.glob("*.cypher")):
        query = parse(path)
        queries[query.name] = query
    if not queries:
        raise QueryError(f"{directory}: no saved queries (*.cypher files) here; point {CYPHER_DIR_VARIABLE} at "
                         "a copy of cypher/, or unset it")
    return queries


def find(name: str, directory: Path | None = None) -> SavedQuery:
    queries = load_all(directory)
    if name not in queries:
        close = [n for n in queries if name in n or n in name]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise QueryError(f"no saved query named {name!r}.{hint} `callgraph queries` lists them.")
    return queries[name]


def convert_param(p: Param, raw: str, where: str) -> object:
    """A command-line string to the parameter's type; a ParameterError naming it otherwise.
    A datetime takes the forms of :func:`loader.times.parse_when` (``2026-11-01``, ``7d``, ...)."""
    if raw == "null":
        return None
    if p.type == "datetime":
        try:
            return DateTime.from_native(parse_when(raw, datetime.now(timezone.utc)))
        except ValueError as exc:
            raise ParameterError(f"{where}: parameter {p.name}: {exc}") from None
    try:
        if p.type == "int":
            number = int(raw)
            if not -2**63 <= number < 2**63:  # what Neo4j's integers hold
                raise ParameterError(f"{where}: parameter {p.name} is too large for Neo4j (64-bit integers), "
                                     f"got {raw}")
            return number
        if p.type == "float":
            return float(raw)
        if p.type == "bool":
            if raw.lower() in ("true", "yes", "1"):
                return True
            if raw.lower() in ("false", "no", "0"):
                return False
            raise ValueError
        if p.type == "string[]":
            return [part.strip() for part in raw.split(",") if part.strip()]
        return raw
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "bool": "true or false"}[p.type]
        raise ParameterError(f"{where}: parameter {p.name} must be {expected}, got {raw!r}") from None


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, DateTime):
        return value.iso_format()
    return str(value)


def run(graph: Graph, query: SavedQuery, params: dict[str, object]) -> tuple[list[str], list[list]]:
    """Column names and rows (as plain JSON values), in a read transaction."""
    def work(tx: neo4j.ManagedTransaction):
        result = tx.run(query.text, params)
        return list(result.keys()), [[plain(v) for v in record.values()] for record in result]

    with graph.session(read=True) as session:
        try:
            return session.execute_read(work)
        except ClientError as exc:
            raise refused(query, exc) from None


_POSITION = re.compile(r"\s*\(line (\d+), column (\d+) \(offset: \d+\)\)")


def refused(query: SavedQuery, exc: ClientError) -> UsageError:
    """Neo4j's refusal of a saved query as one line: a Cypher error names the file and line
    (Neo4j counts lines of the whole file, header included), a parameter value Neo4j cannot
    use (``limit=-1``) names the query, a query that writes says saved queries only read."""
    text = (exc.message or str(exc)).splitlines()[0] if (exc.message or str(exc)) else exc.code or "error"
    position = _POSITION.search(text)
    text = _POSITION.sub("", text).rstrip(".")
    expected = re.match(r"(.*?): expected (.*)$", text)
    if expected and len(choices := re.split(r", | or ", expected.group(2))) > 4:
        text = f"{expected.group(1)}: expected {', '.join(choices[:3])}, ..."
    code = exc.code or ""
    if position:
        return QueryError(f"{query.path}:{position.group(1)}: Neo4j cannot run this saved query: {text} "
                          f"(column {position.group(2)})")
    if code.endswith(".AccessMode"):
        return QueryError(f"{query.path}: this saved query writes to the graph; saved queries only read")
    if code.endswith((".ArgumentError", ".ArithmeticError", ".TypeError", ".SyntaxError")):
        return ParameterError(f"{query.name}: Neo4j cannot use these parameter values: {text}")
    return QueryError(f"{query.path}: Neo4j cannot run this saved query: {text}")


def plain(value: object) -> object:
    """Neo4j values as plain JSON: datetimes as ISO 8601, durations in ms, nodes as their properties."""
    if isinstance(value, (Node, Relationship)):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, GraphPath):
        return [plain(n) for n in value.nodes]
    if isinstance(value, (DateTime, Date, Time)):
        return value.iso_format()
    if isinstance(value, Duration):
        days = value.months * 30 + value.days  # Neo4j's own approximation for months
        return round((days * 86400 + value.seconds) * 1000 + value.nanoseconds / 1e6, 3)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
