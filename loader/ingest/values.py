"""Conversions from Graph JSON values to values Neo4j stores well.

Graph sends every value as JSON: timestamps and durations as ISO 8601 strings, floating
values sometimes as the OData strings ``NaN``/``INF``/``-INF``, 64-bit integers that may
arrive as strings. Each converter takes the raw value and returns the stored value, or
raises :class:`FieldError` with a message that tells the user what was expected, so a bad
record is rejected with a reason instead of landing half-converted. A value of the right
shape that makes no sense as a measurement (a negative duration) raises :class:`DroppedValue`:
the record loads without it, and the stored node or edge names it in ``dropped``. The rules are
documented in the model (``docs/graph-model.md``, "Values that make no sense").
"""

from __future__ import annotations

import functools
import math
import re
import reprlib
from datetime import datetime, timezone

from neo4j.time import DateTime

from ..model import MAX_DEPTH, MAX_MEMBERS
from ..times import TIMESTAMP, moment


class FieldError(ValueError):
    """A member of a record has a value of the wrong type or shape."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class DroppedValue(FieldError):
    """A member's value has the right shape but makes no sense (a negative duration): the record
    loads without it, and names it in its ``dropped`` property."""


# repr with bounds: a value nested a thousand deep or a megabyte long is shown in a few characters
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxlong = 2, 40, 40, 4, 4, 40


def show(value: object) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


INT64 = (-(2 ** 63), 2 ** 63 - 1)  # what a Neo4j integer holds


def in_int64(value: int) -> bool:
    return INT64[0] <= value <= INT64[1]


def text(value: str, path: str) -> str:
    """``value`` if it is text that can be stored; a lone surrogate (``\\ud800`` in the JSON: half
    of a UTF-16 pair) is no character at all, and no database stores it."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FieldError(path, f"contains {value[exc.start]!r} at character {exc.start}, half of a UTF-16 pair "
                                   "(a lone surrogate): not text") from None
    return value


def check_nesting(value: object, path: str) -> None:
    """A member the model does not know (stored as JSON text) may be nested at most MAX_DEPTH
    levels deep, with at most MAX_MEMBERS members per object; walked without recursion."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            if len(item) > MAX_MEMBERS:
                raise FieldError(path, f"an object in it has {len(item)} members; callgraph takes up to {MAX_MEMBERS}")
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise FieldError(path, f"nested more than {MAX_DEPTH} levels deep; callgraph takes up to {MAX_DEPTH}")
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


# Graph writes "no value" for a timestamp as the minimum .NET DateTimeOffset.
_NO_TIMESTAMP = re.compile(r"^0001-01-01T00:00:00(\.0+)?(Z|[+-]00:00)?$")


def _timestamp_match(value: object, path: str) -> re.Match | None:
    """The parts of an ISO 8601 timestamp; None for absent (null, or Graph's 0001-01-01)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(path, f"expected an ISO 8601 date-time string, got {show(value)}")
    if _NO_TIMESTAMP.match(value):
        return None
    m = TIMESTAMP.match(value.strip())
    if not m:
        raise FieldError(path, f"expected an ISO 8601 date-time such as 2020-02-25T18:52:21Z, got {show(value)}")
    return m


def to_datetime(value: object, path: str) -> DateTime | None:
    """ISO 8601 timestamp (0 to 9 fractional digits) to a Neo4j DateTime, kept to the ns.

    Python's datetime stops at microseconds; Graph sends up to 7 digits, so the fraction
    is parsed by hand into nanoseconds.
    """
    m = _timestamp_match(value, path)
    if m is None:
        return None
    try:
        when, nanos = moment(m)  # the calendar fields validated, and the ns Python drops
    except ValueError as exc:
        raise FieldError(path, f"not a valid date-time {show(value)} ({exc})") from None
    return DateTime(when.year, when.month, when.day, when.hour, when.minute, when.second, nanos, tzinfo=when.tzinfo)


class Timestamp(str):
    """A validated Graph timestamp, normalised to UTC as ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ``.

    The writer turns it into a Neo4j datetime on the server (``datetime(row.x)``): building
    neo4j.time.DateTime objects and packing them in Python cost more than the rest of a
    record's conversion. Fixed width and UTC, so comparing two of them as strings compares
    the moments.
    """

    __slots__ = ()

    def to_native(self) -> datetime:
        """A Python datetime (microseconds: for arithmetic such as durations)."""
        return datetime.fromisoformat(self[:26] + "+00:00")

    @classmethod
    def of(cls, value: object) -> "Timestamp | None":
        """From a Neo4j or Python datetime (a value read back from the database)."""
        if value is None:
            return None
        if isinstance(value, DateTime):
            return to_timestamp(value.iso_format(), "")
        return to_timestamp(value.isoformat(), "")


def to_timestamp(value: object, path: str) -> Timestamp | None:
    """ISO 8601 timestamp (0 to 9 fractional digits) to a :class:`Timestamp`, kept to the ns."""
    m = _timestamp_match(value, path)
    if m is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        when, _ = moment(m)  # a real calendar moment?
    except ValueError as exc:
        raise FieldError(path, f"not a valid date-time {show(value)} ({exc})") from None
    fraction = (fraction or "").ljust(9, "0")
    if zone in (None, "Z", "z"):
        return Timestamp(f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}.{fraction}Z")
    # an offset (rare in Graph): the same moment in UTC
    return Timestamp(when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z")


_DURATION = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
    re.ASCII,  # \d matches only 0-9, not the other scripts' digits int() would read
)


def to_duration_ms(value: object, path: str) -> float | None:
    """ISO 8601 duration (``PT0.016S``) to milliseconds (``16.0``). Graph's durations are
    jitters, round trips and freezes: a negative one (``-PT5S``) measures nothing and is dropped
    (:class:`DroppedValue`)."""
    if value is None:
        return None
    ms = _duration_ms(value) if isinstance(value, str) else None
    if ms is None:
        raise FieldError(path, f"expected an ISO 8601 duration such as PT0.016S, got {show(value)}")
    if ms < 0:
        raise DroppedValue(path, f"a negative duration ({show(value)}) measures nothing")
    return ms


@functools.lru_cache(maxsize=4096)
def _duration_ms(text: str) -> float | None:
    """Milliseconds, or None when ``text`` is no duration. Cached: a stream has a dozen
    durations, and Graph's millisecond values repeat (PT0.016S, PT0.02S, ...)."""
    m = _DURATION.match(text.strip())
    if not m or text.strip() in ("P", "PT", "-P", "-PT"):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups()[1:])
    ms = ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
    ms = round(ms, 6)  # 0.016 * 1000 is 16.000000000000004 in binary floating point
    return -ms if m.group(1) else ms


_SPECIAL_FLOATS = {"nan": None, "inf": math.inf, "+inf": math.inf, "infinity": math.inf,
                   "-inf": -math.inf, "-infinity": -math.inf}


def to_float(value: object, path: str) -> float | None:
    """Number, or the OData strings NaN/INF/-INF. NaN means 'no measurement': stored absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(path, f"expected a number, got {show(value)}")
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # past 1.8e308: no float holds it
            raise FieldError(path, f"expected a number a float can hold, got {show(value)}") from None
    if isinstance(value, str):
        special = value.strip().lower()
        if special in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[special]
        if _FLOAT.match(value):
            number = float(value)
            return None if math.isnan(number) else number
    raise FieldError(path, f"expected a number, got {show(value)}")


_FLOAT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$", re.ASCII)
_INT = re.compile(r"^\s*[+-]?\d+\s*$", re.ASCII)


def to_int(value: object, path: str) -> int | None:
    """Integer; Graph's 64-bit integers may come as strings. One past the 64 bits a database
    holds rejects the record (no Graph member counts that far)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(path, f"expected an integer, got {show(value)}")
    number = value
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT.match(value):
        number = int(value) if len(value.strip()) <= 20 else None  # more digits than any int64
    if number is None or isinstance(number, int) and not in_int64(number):
        raise FieldError(path, f"{show(value)} is past the 64-bit integers a database holds")
    if isinstance(number, int):
        return number
    raise FieldError(path, f"expected an integer, got {show(value)}")


def to_bool(value: object, path: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FieldError(path, f"expected true or false, got {show(value)}")


def to_string(value: object, path: str) -> str | None:
    """Strings, and numbers written where a string was expected (ids sometimes are)."""
    if value is None:
        return None
    if isinstance(value, str):
        return text(value, path)
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value):
        return str(value)
    raise FieldError(path, f"expected a string, got {show(value)}")


def to_string_list(value: object, path: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(path, f"expected a list of strings, got {show(value)}")
    return [text(v, path) for v in value]


CONVERTERS = {
    "string": to_string,
    "enum": to_string,  # Graph enums are evolvable: any string is kept as it comes
    "int": to_int,
    "float": to_float,
    "bool": to_bool,
    "datetime": to_timestamp,
    "duration": to_duration_ms,
    "string[]": to_string_list,
    "enum[]": to_string_list,
}
