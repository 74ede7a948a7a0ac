"""CQD's building data file and endpoint data file, read and checked as CQD takes them.

The building data file (Microsoft's "Upload tenant and building data" page): CSV or TSV, no
header, one network range a row, 14 columns or 15 with VPN, in the order of
:data:`loader.model.BUILDING_FILE_COLUMNS`; strings (a field with a comma quoted in CSV), the
range a prefix length, booleans 0 or 1; at most 50 MB and 1,000,000 rows. Ranges may be
supernets but must not overlap. The endpoint data file: six strings, no header.

A file is taken whole or not at all: every problem found (up to :data:`MAX_PROBLEMS`) is
collected, naming the file, the line and the column and saying what to do, and
:class:`FileRefused` carries them all. Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, printable
from ..model import BUILDING_FILE_COLUMNS, ENDPOINT_FILE_COLUMNS, PLACE_FILE_MAX_BYTES, PLACE_FILE_MAX_ROWS

MAX_PROBLEMS = 20  # problems listed for one refused file; the rest are counted
BUILDING_COLUMNS = [column for column, *_ in BUILDING_FILE_COLUMNS]
ENDPOINT_COLUMNS = [column for column, _ in ENDPOINT_FILE_COLUMNS]
_REQUIRED = len(BUILDING_COLUMNS) - 1  # VPN is optional
_COLUMNS_ARE = "its columns are, in order: " + ", ".join(BUILDING_COLUMNS) + " (VPN optional)"


class FileRefused(InputError):
    """A building or endpoint data file with problems: nothing of it was taken. ``problems``
    lists them (one line each), ``total`` counts them all."""

    def __init__(self, path: str, problems: list[str], total: int):
        self.path, self.problems, self.total = path, problems, total
        more = f" (and {total - 1:,} more problems, listed above)" if total > 1 else ""
        super().__init__(f"{problems[0]}{more}; the file was refused whole and nothing was changed: fix it and "
                         "run the command again")


@dataclass(frozen=True)
class NetworkRow:
    """One row of the building data file, checked: the Network node's properties and its building."""

    line: int
    key: str  # address/prefixLength, normalised
    address: str
    prefix_length: int
    name: str | None
    building: str | None
    inside_corp: bool
    express_route: bool
    vpn: bool
    span: tuple  # (IP version, first address, last address) as integers

    def props(self) -> dict:
        return {"key": self.key, "address": self.address, "prefixLength": self.prefix_length, "name": self.name,
                "insideCorp": self.inside_corp, "expressRoute": self.express_route, "vpn": self.vpn,
                "line": self.line}


@dataclass
class BuildingFile:
    path: str
    dialect: str  # "CSV" or "TSV"
    columns: int  # 14 or 15
    networks: list = field(default_factory=list)  # NetworkRow, in file order
    buildings: dict = field(default_factory=dict)  # name -> Building properties (name included)
    notes: list = field(default_factory=list)  # what was taken but deserves a look (not errors)


@dataclass
class EndpointFile:
    path: str
    dialect: str
    devices: dict = field(default_factory=dict)  # name -> Device properties (name included)


class _Problems:
    def __init__(self, path: str):
        self.path, self.listed, self.total = path, [], 0

    def add(self, line: int | None, what: str, column: int | None = None, name: str | None = None) -> None:
        self.total += 1
        if len(self.listed) < MAX_PROBLEMS:
            where = f" line {line}" if line is not None else ""
            if column is not None:
                where += f", column {column + 1} ({name})"
            self.listed.append(f"{self.path}{where}: {what}")

    def check(self) -> None:
        if self.total:
            raise FileRefused(self.path, self.listed, self.total)


def _text_of(path: str) -> str:
    """The file's text: UTF-8 (a byte-order mark allowed) or UTF-16 with its mark, as Excel's
    "Unicode Text" writes TSV; at most CQD's 50 MB."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file" if not p.exists() else f"{path}: not a file")
    size = p.stat().st_size
    if size > PLACE_FILE_MAX_BYTES:
        raise FileRefused(path, [f"{path}: {size:,} bytes, more than the {PLACE_FILE_MAX_BYTES // 2**20} MB CQD "
                                 "takes in one file: split it (CQD refuses it too)"], 1)
    data = p.read_bytes()
    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileRefused(path, [f"{path} line {line}: byte {exc.start + 1} is not {encoding.upper()[:6]} text: "
                                 "save the file as UTF-8 (CSV UTF-8 in Excel)"], 1) from None


def _rows(path: str, problems: _Problems):
    """(dialect, iterator of (line, fields)) over the file's non-blank rows, CQD's most of them
    (past it: a problem, and no more rows); a tab in the first non-blank line makes it TSV, else
    CSV. ``line`` is the line the row starts on."""
    text = _text_of(path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first else ","

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        start, count = 1, 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                problems.add(reader.line_num, f"cannot be read as {'TSV' if delimiter == chr(9) else 'CSV'} ({exc}): "
                                              "check its quotes")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if any(f.strip() for f in fields):
                count += 1
                if count > PLACE_FILE_MAX_ROWS:
                    problems.add(line, f"more than {PLACE_FILE_MAX_ROWS:,} rows, the most CQD takes in one file: "
                                       "split it")
                    return
                yield line, [f.strip() for f in fields]

    return ("TSV" if delimiter == "\t" else "CSV"), rows()


def _header_like(fields: list[str], names: list[str]) -> bool:
    wanted = {name.lower() for name in names}
    return sum(f.replace(" ", "").lower() in wanted for f in fields) >= 2


def _show(value: str) -> str:
    return repr(printable(value if len(value) <= 60 else value[:57] + "..."))


def read_building_file(path: str) -> BuildingFile:
    """Every row of a building data file, checked; raises :class:`FileRefused` listing every
    problem (wrong column count, a header row, a bad address, range or boolean, overlapping
    ranges naming both rows), or :class:`loader.errors.InputError` for a file that is not there."""
    problems = _Problems(path)
    dialect, rows = _rows(path, problems)
    result = BuildingFile(path, dialect, 0)
    first_line: int | None = None
    seen_by: dict = {}  # building name -> the line whose details it keeps
    differs: dict = {}  # building name -> (line, column) of the first disagreement
    for line, fields in rows:
        if first_line is None:
            first_line = line
            if _header_like(fields, BUILDING_COLUMNS) or (
                    len(fields) >= 3 and _address(fields[0]) is None and not fields[2].isdigit()):
                problems.add(line, f"looks like a header row ({', '.join(_show(f) for f in fields[:3])}, ...): "
                                   f"CQD's building data file has no header ({_COLUMNS_ARE}); remove the line")
                continue
        if len(fields) not in (_REQUIRED, _REQUIRED + 1):
            problems.add(line, f"{len(fields)} columns; a building data file has {_REQUIRED} or {_REQUIRED + 1} "
                               f"(with VPN): {', '.join(BUILDING_COLUMNS)}. A field with a comma must be quoted "
                               "in CSV (\"Oslo, Lab\")")
            continue
        if result.columns == 0:
            result.columns = len(fields)
        elif len(fields) != result.columns:
            problems.add(line, f"{len(fields)} columns, but the file's first row has {result.columns}: every row "
                               "needs the same columns (add or remove the VPN column)")
            continue
        row = _network_row(line, fields, problems)
        if row is None:
            continue
        result.networks.append(row)
        if row.building is not None:
            details = {prop: (fields[i] or None) for i, (_, node, prop, _) in enumerate(BUILDING_FILE_COLUMNS)
                       if node == "Building" and i < len(fields)}
            kept = result.buildings.get(row.building)
            if kept is None:
                result.buildings[row.building] = details
                seen_by[row.building] = line
            elif kept != details and row.building not in differs:
                column = next(c for (c, node, prop, _) in BUILDING_FILE_COLUMNS
                              if node == "Building" and kept.get(prop) != details.get(prop))
                differs[row.building] = (line, column)
    if first_line is None:
        problems.add(None, f"no rows: a building data file has one network a row, no header; {_COLUMNS_ARE}")
    _overlaps(result.networks, problems)
    problems.check()
    for name, (line, column) in differs.items():
        result.notes.append(f"building {_show(name)}: line {line} gives another {column} than line {seen_by[name]}; "
                            f"the details of line {seen_by[name]} are kept")
    return result


def _address(text: str):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _network_row(line: int, fields: list[str], problems: _Problems) -> NetworkRow | None:
    before = problems.total

    def bad(column: int, what: str) -> None:
        problems.add(line, what, column, BUILDING_COLUMNS[column])

    address = _address(fields[0])
    if address is None:
        bad(0, f"{_show(fields[0])} is not an IPv4 or IPv6 address: write the range's network address, "
               "e.g. 10.51.4.0 or 2001:db8:4::")
    prefix = None
    if not fields[2].isdigit() or not fields[2].isascii():
        bad(2, f"{_show(fields[2])} is not a number: NetworkRange is the prefix length, e.g. 24 for a /24 "
               "(255.255.255.0)")
    else:
        prefix = int(fields[2])
        top = 32 if address is None or address.version == 4 else 128
        if prefix > top:
            bad(2, f"{prefix} is more than an IPv{4 if top == 32 else 6} prefix can be (0-{top})")
            prefix = None
    flags = []
    for column in range(12, len(fields)):
        if fields[column] not in ("0", "1"):
            bad(column, f"{_show(fields[column])}: expected 0 or 1 (CQD's booleans; not true/false or yes/no)")
        flags.append(fields[column] == "1")
    if address is not None and prefix is not None:
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        if network.network_address != address:
            bad(0, f"{address} is not the network address of a /{prefix} range: write {network.network_address} "
                   "(or give the NetworkRange the address starts)")
    if problems.total != before:
        return None
    key = str(network)
    return NetworkRow(line, key, str(network.network_address), prefix, fields[1] or None, fields[3] or None,
                      flags[0], flags[1], flags[2] if len(flags) > 2 else False,
                      (network.version, int(network.network_address), int(network.broadcast_address)))


def _overlaps(rows: list[NetworkRow], problems: _Problems) -> None:
    """Every row whose range overlaps an earlier one by first address, naming both: sorted by
    (version, first address), each row is compared with the widest-reaching row before it."""
    ordered = sorted(rows, key=lambda r: (r.span[0], r.span[1], -r.span[2]))
    reach: NetworkRow | None = None
    for row in ordered:
        if reach is not None and reach.span[0] == row.span[0] and row.span[1] <= reach.span[2]:
            a, b = sorted((reach, row), key=lambda r: r.line)
            problems.add(b.line, f"{b.key} overlaps {a.key} of line {a.line}: CQD refuses overlapping ranges (an "
                                 "address in both could map to either building); remove one row, or split the "
                                 "wider range around the other")
        if reach is None or reach.span[0] != row.span[0] or row.span[2] > reach.span[2]:
            reach = row


def read_endpoint_file(path: str) -> EndpointFile:
    """Every row of an endpoint data file (EndpointName, EndpointModel, EndpointType,
    EndpointLabel1-3), checked: six columns, a machine name, each name once."""
    problems = _Problems(path)
    dialect, rows = _rows(path, problems)
    result = EndpointFile(path, dialect)
    lines: dict = {}
    count = 0
    for line, fields in rows:
        count += 1
        if count == 1 and _header_like(fields, ENDPOINT_COLUMNS):
            problems.add(line, f"looks like a header row ({', '.join(_show(f) for f in fields[:3])}, ...): CQD's "
                               f"endpoint data file has no header (columns {', '.join(ENDPOINT_COLUMNS)}); remove "
                               "the line")
            continue
        if len(fields) != len(ENDPOINT_COLUMNS):
            problems.add(line, f"{len(fields)} columns; an endpoint data file has {len(ENDPOINT_COLUMNS)}: "
                               f"{', '.join(ENDPOINT_COLUMNS)}. A field with a comma must be quoted in CSV")
            continue
        name = fields[0]
        if not name:
            problems.add(line, "no EndpointName: each row names a machine (as Teams reports it)", 0, "EndpointName")
            continue
        if name in lines:
            problems.add(line, f"{_show(name)} again (first on line {lines[name]}): name each machine once", 0,
                         "EndpointName")
            continue
        lines[name] = line
        result.devices[name] = {prop: (fields[i] or None) for i, (_, prop) in enumerate(ENDPOINT_FILE_COLUMNS)}
    if count == 0:
        problems.add(None, f"no rows: CQD's endpoint data file has {', '.join(ENDPOINT_COLUMNS)}, no header")
    problems.check()
    return result
