"""Source: read call records from files, directories and stdin, one at a time.

Accepted shapes, each plain or gzipped: a single callRecord object, a Graph collection
page (``{"value": [...]}``), a JSON array of records, and JSON Lines (one record per
line). Rows of the getPstnCalls and getDirectRoutingCalls logs are read the same way. Input is streamed: a JSON Lines file is read line by line, and a JSON document is
parsed incrementally with ijson, so memory stays flat however large the file.

Each item says where it came from (file and line, or file and position in the document),
so an error can point at the exact place; a broken document yields the records before
the break and then one error. A :class:`ReadPosition` passed along counts the bytes read
from the files themselves (compressed bytes for .gz), so a progress line can say how far
the reading has got against :func:`input_size`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import json
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import ijson

from ..errors import InputError
from ..model import LOG_ROW_KINDS, MAX_DEPTH

READ_BUFFER = 1 << 20
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".gz")


@dataclass
class Item:
    """One record read from the input, or one problem found there."""

    origin: str  # "calls.jsonl:12" or "page.json:value[3]"
    record: dict | None = None
    kind: str = "callRecord"  # or PstnCall / DirectRoutingCall: a getPstnCalls / getDirectRoutingCalls row
    error: str | None = None  # the input could not be read at this place
    ignored: str | None = None  # readable, but not a call record (what it is instead)


def expand_paths(paths: list[str]) -> Iterator[str]:
    """Files as given, directories walked recursively for JSON files, '-' for stdin; a path that
    does not exist or cannot be read is an :class:`InputError` naming it."""
    for p in paths:
        if p == "-":
            yield p
            continue
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path, onerror=_unreadable):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(JSON_SUFFIXES):
                        yield _readable(os.path.join(root, name))
        elif path.exists():
            yield _readable(p)
        else:
            raise InputError(f"{p}: no such file or directory")


def _readable(path: str) -> str:
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied: make it readable (chmod) or leave it out")
    return path


def _unreadable(exc: OSError) -> None:
    raise InputError(f"{exc.filename}: cannot read this directory ({exc.strerror or exc}): make it readable "
                     "(chmod) or leave it out")


def input_size(paths: list[str]) -> int | None:
    """The bytes there are to read (on disk: compressed for .gz), when every input is a regular
    file; None with standard input or a pipe, whose end nobody knows in advance."""
    total = 0
    for path in paths:
        if path == "-":
            return None
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None
        total += info.st_size
    return total


@dataclass
class ReadPosition:
    """Bytes read so far from the input's files, as they are on disk, over every file read with it.

    Counted where the raw file is read (in chunks of READ_BUFFER), so it costs nothing per record;
    another thread may read ``bytes`` at any time (for a progress line)."""

    bytes: int = 0


class _Counted(io.RawIOBase):
    """The raw stream under the reader's buffer: passes reads on and counts their bytes."""

    def __init__(self, source, position: ReadPosition, owned: bool):
        self.source, self.position, self.owned = source, position, owned
        # a buffered source (stdin) answers with what it has, as a pipe should, not a full buffer
        self._readinto = getattr(source, "readinto1", None) or source.readinto

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._readinto(buffer) or 0
        self.position.bytes += n
        return n

    def close(self) -> None:
        if self.owned and not self.closed:
            self.source.close()
        super().close()


def _open(path: str, position: ReadPosition) -> BinaryIO:
    # A 1 MiB buffer: records are lines of ~11 KB, and with the default 8 KB every line took
    # a few reads, each giving up the interpreter lock that the writer threads then hold.
    source = sys.stdin.buffer if path == "-" else open(path, "rb", buffering=0)
    stream = io.BufferedReader(_Counted(source, position, owned=path != "-"), READ_BUFFER)
    if stream.peek(2)[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream


# JSON is UTF-8, but files saved by other tools start with a byte order mark or are UTF-16 or
# UTF-32 (PowerShell's Out-File, Notepad). Told apart by the BOM, else by where the zero bytes
# of the first character (always ASCII in JSON) fall. UTF-32 first: its little-endian BOM
# begins with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32-LE"), (codecs.BOM_UTF32_BE, "UTF-32-BE"), (codecs.BOM_UTF8, "UTF-8"),
         (codecs.BOM_UTF16_LE, "UTF-16-LE"), (codecs.BOM_UTF16_BE, "UTF-16-BE"))


def _encoding(head: bytes) -> tuple[str, int]:
    """(encoding, length of its byte order mark) of a text whose first bytes are ``head``."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    if len(head) >= 4 and head[:3] == b"\0\0\0":
        return "UTF-32-BE", 0
    if len(head) >= 4 and head[1:4] == b"\0\0\0":
        return "UTF-32-LE", 0
    if len(head) >= 2 and head[0] == 0:
        return "UTF-16-BE", 0
    if len(head) >= 2 and head[1] == 0:
        return "UTF-16-LE", 0
    return "UTF-8", 0


class _AsUtf8(io.RawIOBase):
    """A UTF-16 or UTF-32 text, read as UTF-8 bytes (what the JSON readers take)."""

    def __init__(self, stream, encoding: str):
        self.text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.text.read(max(1, len(buffer) // 4))
            if not chunk:
                return 0
            self.pending = chunk.encode("utf-8", "surrogatepass")  # a lone surrogate: the transform says so
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self.text.close()
        super().close()


def _decoded(stream) -> tuple[BinaryIO, str]:
    """The stream as UTF-8 bytes without a byte order mark, and the encoding it was in."""
    encoding, bom = _encoding(stream.peek(4)[:4])
    stream.read(bom)
    if encoding == "UTF-8":
        return stream, encoding
    return io.BufferedReader(_AsUtf8(stream, encoding), READ_BUFFER), encoding  # type: ignore[return-value]


def read_items(path: str, position: ReadPosition | None = None) -> Iterator[Item]:
    """Every record (or problem) in one file, in order; ``position`` counts the bytes read. A
    file that cannot be opened is an :class:`InputError`; one that breaks while it is read (a
    gzip cut short, text that is not JSON) yields what it could read, then a problem item that
    names the place."""
    name = "<stdin>" if path == "-" else path
    try:
        opened = _open(path, position or ReadPosition())
    except OSError as exc:
        raise InputError(f"{name}: cannot read it ({exc.strerror or exc}): make it readable or leave it out") from None
    where = {"origin": f"{name}:1"}  # the place being read, for a problem that breaks the reading
    encoding = "UTF-8"
    try:
        with opened as raw:
            stream, encoding = _decoded(raw)
            first, number = b"", 0
            while not first.strip():  # skip leading blank lines
                where["origin"] = f"{name}:{number + 1}"
                first = stream.readline()
                number += 1
                if not first:
                    return
            if _is_json_lines(first):
                yield from _json_lines(itertools.chain([first], stream), name, number, where)
            elif first.lstrip()[:1] == b"{" and _is_json_lines(second := stream.readline()):
                # JSON Lines whose first record is broken
                yield from _json_lines(itertools.chain([first, second], stream), name, number, where)
            elif first.lstrip()[:1] in (b"{", b"["):
                where["origin"] = name
                yield from _document(_Replay(first + second if first.lstrip()[:1] == b"{" else first, stream),
                                     name, where)
            else:
                yield Item(f"{name}:{number}", error=f"not JSON: the line starts with {_start(first)}; call records "
                                                     "are JSON (an object, an array or page of them, or one object "
                                                     "per line)")
    except EOFError:  # gzip's stream ends without its end marker
        yield Item(where["origin"], error="the compressed file is cut short here (it ends before gzip's end "
                                          "marker): what came before was read, the rest is missing")
    except (OSError, zlib.error) as exc:  # not gzip after all, corrupt data, a read that fails
        yield Item(where["origin"], error=f"cannot read on from here: {exc}")
    except UnicodeDecodeError as exc:
        yield Item(where["origin"], error=f"not {encoding} text here ({exc.reason}), though the file starts as "
                                          f"{encoding}")


def _start(line: bytes) -> str:
    text = line.strip().decode("utf-8", "replace")
    return repr(text if len(text) <= 40 else text[:37] + "...")


class _Replay:
    """A reader that returns ``head`` first, then the rest of ``stream`` (for ijson), as it
    comes: a gzip cut short keeps what was read before the break."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream
        self._read = getattr(stream, "read1", stream.read)

    def read(self, size: int = -1) -> bytes:
        if self.head:
            chunk, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else (self.head[:size], self.head[size:])
            return chunk
        return self._read(size)


def _is_json_lines(first: bytes) -> bool:
    """A first line that is a whole JSON object on its own means one record per line."""
    try:
        return isinstance(json.loads(first), dict)
    except RecursionError:  # a whole record on this line, too deeply nested (said when it is read)
        return first.lstrip()[:1] == b"{"
    except ValueError:
        return False


def _unique_members(pairs: list) -> dict:
    """A JSON object's members, or :class:`DuplicateMember` when a name appears twice with
    different values (JSON leaves open which one counts: callgraph takes neither). The same
    value twice is no question (Microsoft's own examples repeat an @odata.type)."""
    members = dict(pairs)
    if len(members) != len(pairs):
        for key, value in pairs:
            if members[key] != value:
                raise DuplicateMember(key)
    return members


class DuplicateMember(ValueError):
    def __init__(self, name: str):
        super().__init__(f"the member {name!r} appears twice in one object: which one counts is not clear, "
                         "so the record is not loaded")


def _json_lines(lines: Iterator[bytes], name: str, first_number: int, where: dict) -> Iterator[Item]:
    for number, line in enumerate(lines, start=first_number):
        where["origin"] = origin = f"{name}:{number}"
        if not line.strip():
            continue
        try:
            value = json.loads(line, object_pairs_hook=_unique_members)
        except DuplicateMember:  # read again by the document reader, which rejects only the record that has it
            yield from _document(io.BytesIO(line), origin, {"origin": origin})  # (a line may hold a page)
            continue
        except RecursionError:
            yield Item(origin, error=f"nested too deeply to read (callgraph takes up to {MAX_DEPTH} levels)")
            continue
        except json.JSONDecodeError as exc:
            if exc.pos >= len(line.rstrip()):
                yield Item(origin, error="truncated JSON: the line ends in the middle of a record")
            else:
                yield Item(origin, error=f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except ValueError as exc:  # e.g. bytes that are not UTF-8
            yield Item(origin, error=f"not valid JSON: {exc}")
            continue
        yield from _classify(value, origin, context=None)
        where["origin"] = f"{name}:{number + 1}"  # the next line, should reading it fail


def _document(stream, name: str, where: dict) -> Iterator[Item]:
    """Stream one JSON document (or several concatenated) with ijson's event parser; ``where``
    is kept at the place being read, for the error if the document breaks."""
    events = ijson.parse(stream, multiple_values=True, use_float=True)
    try:
        for prefix, event, value in events:
            if prefix == "" and event == "start_map":
                yield from _top_object(events, name, where)
            elif prefix == "" and event == "start_array":
                for index, item in enumerate(_array_items(events, "", where, f"{name}:[{{}}]")):
                    yield from _classify(item, f"{name}:[{index}]", context=None)
            elif prefix == "":
                yield Item(name, error=f"expected a JSON object or array, got {value!r}")
    except ijson.IncompleteJSONError:
        yield Item(where["origin"], error="truncated JSON: the file ends in the middle of a record")
    except ijson.JSONError as exc:
        yield Item(where["origin"], error=f"not valid JSON ({_ijson_message(exc)})")


def _ijson_message(exc: Exception) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip()[:200]


def _top_object(events, name: str, where: dict) -> Iterator[Item]:
    """A top-level object: a collection page (stream its ``value``) or a single record."""
    top: dict = {}
    saw_value = False
    key = duplicate = None
    repeated = []  # (name, the value first given) of top-level members that come again
    for prefix, event, value in events:
        if event == "end_map" and prefix == "":
            break
        if event == "map_key" and prefix == "":
            key = value
            if key in top:
                repeated.append((key, top[key]))
            continue
        # the first event of a top-level member's value
        if key == "value" and event == "start_array":
            saw_value = True
            context = top.get("@odata.context")
            for index, item in enumerate(_array_items(events, "value", where, f"{name}:value[{{}}]")):
                yield from _classify(item, f"{name}:value[{index}]", context=context)
        else:
            try:
                top[key] = _build(events, event, value)
            except DuplicateMember as exc:
                duplicate = exc
    duplicate = duplicate or next((name for name, first in repeated if top.get(name) != first), None)
    if duplicate is not None and not saw_value:
        yield Item(name, error=str(duplicate if isinstance(duplicate, DuplicateMember) else DuplicateMember(duplicate)))
    elif not saw_value:
        yield from _classify(top, name, context=None)


def _array_items(events, array_prefix: str, where: dict, origin: str) -> Iterator[object]:
    """Build each element of the array whose start_array event was just consumed (a
    :class:`DuplicateMember` in place of one that has a member twice)."""
    index = 0
    for prefix, event, value in events:
        if event == "end_array" and prefix == array_prefix:
            return
        where["origin"] = origin.format(index)
        try:
            yield _build(events, event, value)
        except DuplicateMember as exc:
            yield exc
        index += 1


class _Builder(ijson.ObjectBuilder):
    """ijson's builder, noting a member name that comes twice in one object (see
    :func:`_unique_members`)."""

    def __init__(self):
        super().__init__()
        self.repeated: list = []  # (object, name, the value first given)

    def event(self, event, value):
        if event == "map_key" and value in self.containers[-1]:
            self.repeated.append((self.containers[-1], value, self.containers[-1][value]))
        super().event(event, value)

    @property
    def duplicate(self) -> str | None:
        return next((name for members, name, first in self.repeated if members[name] != first), None)


def _build(events, event: str, value: object) -> object:
    """The whole JSON value that starts with (event, value); :class:`DuplicateMember` (once
    the value is read) when an object in it has a member twice."""
    if event not in ("start_map", "start_array"):
        return value
    builder = _Builder()
    builder.event(event, value)
    depth = 1
    for _, ev, val in events:
        builder.event(ev, val)
        if ev in ("start_map", "start_array"):
            depth += 1
        elif ev in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                if builder.duplicate is not None:
                    raise DuplicateMember(builder.duplicate)
                return builder.value
    raise ijson.IncompleteJSONError("incomplete JSON")


# What else people point the loader at, and how to tell: the docs' other examples, and
# Graph's other call-records payloads. These are skipped with a note, never rejected.
_CONTEXT_KINDS = (
    (re.compile(r"/sessions(\(|$|\?)"), "a page of sessions (load the whole call record instead)"),
    (re.compile(r"/participants_v2(\(|$|\?)"), "a page of participants (load the whole call record instead)"),
    (re.compile(r"smsLogRow"), "a getSmsLog row"),
    (re.compile(r"pstnBlockedUsersLogRow"), "a getPstnBlockedUsersLog row"),
    (re.compile(r"pstnOnlineMeetingDialoutReport"), "a getPstnOnlineMeetingDialoutReport row"),
)


def _classify(value: object, origin: str, context: str | None) -> Iterator[Item]:
    if isinstance(value, DuplicateMember):
        yield Item(origin, error=str(value))
        return
    if isinstance(value, dict) and isinstance(value.get("value"), list) and "id" not in value:
        # a collection page inside JSON Lines or an array
        for i, item in enumerate(value["value"]):
            yield from _classify(item, f"{origin}:value[{i}]", value.get("@odata.context"))
        return
    row_kind = log_row_kind(value, context)
    if row_kind:
        yield Item(origin, record=value, kind=row_kind)  # type: ignore[arg-type]
        return
    kind = _other_kind(value, context)
    if kind:
        yield Item(origin, ignored=kind)
    else:
        yield Item(origin, record=value)  # type: ignore[arg-type]


# The PSTN and Direct Routing logs load too (callgraph fetch --pstn writes them beside the
# records, marked with Graph's @odata.type); told apart by the page's context, the type
# (the model's LOG_ROW_KINDS), or shape.


def log_row_kind(value: object, context: str | None) -> str | None:
    if not isinstance(value, dict):
        return None
    hint = (context or "") + " " + str(value.get("@odata.type", ""))
    for kind in LOG_ROW_KINDS:
        if kind.odata_type.lower() in hint.lower():
            return kind.label
    if "trunkFullyQualifiedDomainName" in value or "correlationId" in value and "finalSipCode" in value:
        return "DirectRoutingCall"
    if "callId" in value and ("callerNumber" in value or "calleeNumber" in value):
        return "PstnCall"
    return None


def _other_kind(value: object, context: str | None) -> str | None:
    if context:
        for pattern, kind in _CONTEXT_KINDS:
            if pattern.search(context):
                return kind
    if not isinstance(value, dict):
        return None
    if "changeType" in value and ("subscriptionId" in value or "notificationUrl" in value):
        return "a change notification or subscription, not a call record"
    if "resource" in value and "notificationUrl" in value:
        return "a subscription request, not a call record"
    return None
