"""Conversions from Graph JSON values to values Neo4j stores well.

Graph sends every value as JSON: timestamps and durations as ISO 8601 strings, floating
values sometimes as the OData strings ``NaN``/``INF``/``-INF``, 64-bit integers that may
arrive as strings. Each converter takes the raw value and returns the stored value, or
raises :class:`FieldError` with a message that tells the user what was expected, so a bad
record is rejected with a reason instead of landing half-converted.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timezone

from neo4j.time import DateTime

from ..times import TIMESTAMP, moment


class FieldError(ValueError):
    """A member of a record has a value of the wrong type or shape."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Graph writes "no value" for a timestamp as the minimum .NET DateTimeOffset.
_NO_TIMESTAMP = re.compile(r"^0001-01-01T00:00:00(\.0+)?(Z|[+-]00:00)?$")


def _timestamp_match(value: object, path: str) -> re.Match | None:
    """The parts of an ISO 8601 timestamp; None for absent (null, or Graph's 0001-01-01)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(path, f"expected an ISO 8601 date-time string, got {_show(value)}")
    if _NO_TIMESTAMP.match(value):
        return None
    m = TIMESTAMP.match(value.strip())
    if not m:
        raise FieldError(path, f"expected an ISO 8601 date-time such as 2020-02-25T18:52:21Z, got {_show(value)}")
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
        raise FieldError(path, f"not a valid date-time {_show(value)} ({exc})") from None
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
        raise FieldError(path, f"not a valid date-time {_show(value)} ({exc})") from None
    fraction = (fraction or "").ljust(9, "0")
    if zone in (None, "Z", "z"):
        return Timestamp(f"{year}-{month}-{day}T{hour}:{minute}:{second or '00'}.{fraction}Z")
    # an offset (rare in Graph): the same moment in UTC
    return Timestamp(when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + fraction + "Z")


_DURATION = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def to_duration_ms(value: object, path: str) -> float | None:
    """ISO 8601 duration (``PT0.016S``) to milliseconds (``16.0``)."""
    if value is None:
        return None
    ms = _duration_ms(value) if isinstance(value, str) else None
    if ms is None:
        raise FieldError(path, f"expected an ISO 8601 duration such as PT0.016S, got {_show(value)}")
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
        raise FieldError(path, f"expected a number, got {_show(value)}")
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        special = value.strip().lower()
        if special in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[special]
        try:
            return float(value)
        except ValueError:
            pass
    raise FieldError(path, f"expected a number, got {_show(value)}")


def to_int(value: object, path: str) -> int | None:
    """Integer; Graph's 64-bit integers may come as strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(path, f"expected an integer, got {_show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise FieldError(path, f"expected an integer, got {_show(value)}")


def to_bool(value: object, path: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise FieldError(path, f"expected true or false, got {_show(value)}")


def to_string(value: object, path: str) -> str | None:
    """Strings, and numbers written where a string was expected (ids sometimes are)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise FieldError(path, f"expected a string, got {_show(value)}")


def to_string_list(value: object, path: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(path, f"expected a list of strings, got {_show(value)}")
    return list(value)


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
