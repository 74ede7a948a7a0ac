"""Times as people and Graph write them: the one parser of timestamps, dates and ages.

Every time callgraph reads goes through here: Graph's timestamps (by
:mod:`loader.ingest.values`, to the nanosecond), the times of ``fetch``/``sync --since/--until``,
the ``--overlap`` duration, and the datetime parameters of the saved queries
(``callgraph query ... -p since=7d``). So they all take the same forms:

- an ISO 8601 date-time, ``2026-11-01T08:00:00Z``: with ``Z``, an offset (``+02:00``) or
  none (UTC), seconds optional, up to 9 fractional digits;
- an ISO 8601 date, ``2026-11-01``: midnight UTC;
- an age, ``30s``, ``15m``, ``6h``, ``7d``, ``2w`` (``1.5d`` too): that long before now.
  The same forms are the durations :func:`parse_duration` takes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

# year, month, day, hour, minute, second, fraction (up to ns), zone
# re.ASCII: \d is 0-9 only; else full-width and other digits (２０２０) would pass, as int() reads them
TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"([Zz]|[+-]\d{2}:?\d{2})?$", re.ASCII
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

AGES = "30s, 15m, 6h, 7d, 2w"
EXPECTED_TIME = f"expected a time such as 2026-11-01, 2026-11-01T08:00:00Z or an age such as {AGES}"
EXPECTED_DURATION = f"expected a duration such as {AGES}"


def moment(m: re.Match) -> tuple[datetime, int]:
    """The moment a :data:`TIMESTAMP` match names, as a datetime (to the microsecond) and the
    nanoseconds within its second; ValueError for a day or time that does not exist."""
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    nanos = int((fraction or "0").ljust(9, "0"))
    if zone in (None, "Z", "z"):
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), nanos // 1000,
                    tzinfo=tz)
    return when, nanos


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date-time (UTC unless it says otherwise), to the microsecond."""
    m = TIMESTAMP.match(text.strip())
    if not m:
        raise ValueError(f"{EXPECTED_TIME}; got {text!r}")
    try:
        return moment(m)[0]
    except ValueError:
        raise ValueError(f"{EXPECTED_TIME}; got {text!r}") from None


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``6h``, ``7d``, ``2w`` (decimals too) as a timedelta."""
    m = _AGE.match(text.strip())
    try:
        return timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    except (AttributeError, OverflowError):  # no match; more than a timedelta holds
        raise ValueError(f"{EXPECTED_DURATION}; got {text!r}") from None


def parse_when(text: str, now: datetime) -> datetime:
    """An ISO 8601 date-time or date (UTC unless it says otherwise), or an age: that long before ``now``."""
    stripped = text.strip()
    try:
        if _AGE.match(stripped):
            return now - parse_duration(stripped)
        return parse_timestamp(stripped + "T00:00:00Z" if _DATE.match(stripped) else stripped)
    except (ValueError, OverflowError):  # not a time; an age before year 1
        raise ValueError(f"{EXPECTED_TIME}; got {text!r}") from None
