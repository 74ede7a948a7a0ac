"""Given a time as a person writes it, every option and query parameter reads the same moment
(loader.times; no database needed)."""

from datetime import datetime, timedelta, timezone

import pytest

from loader.msgraph.fetch import _graph_time
from loader.times import parse_duration, parse_when

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)
MESSAGE = "expected a time such as 2026-11-01, 2026-11-01T08:00:00Z or an age such as 30s, 15m, 6h, 7d, 2w; got "
UTC = timezone.utc


@pytest.mark.parametrize("text, duration", [
    ("30s", timedelta(seconds=30)),
    ("15m", timedelta(minutes=15)),
    ("6h", timedelta(hours=6)),
    ("7d", timedelta(days=7)),
    ("2w", timedelta(weeks=2)),
    ("1.5d", timedelta(hours=36)),
    ("0.5h", timedelta(minutes=30)),
    (" 90 m ", timedelta(minutes=90)),
    ("0s", timedelta(0)),
])
def test_an_age_is_a_duration_and_that_long_before_now(text, duration):
    assert parse_duration(text) == duration
    assert parse_when(text, NOW) == NOW - duration


@pytest.mark.parametrize("text, moment", [
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),  # a date: midnight UTC
    ("2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("2026-11-01t08:00:00z", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("2026-11-01T08:00:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),  # no zone: UTC
    ("2026-11-01 08:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),  # seconds optional
    ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("2026-11-01T03:00:00-0500", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("2026-11-01T08:00:00.2169889Z", datetime(2026, 11, 1, 8, 0, 0, 216988, tzinfo=UTC)),  # Graph's 7 digits
    ("2026-11-01T08:00:00.123456789Z", datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=UTC)),
])
def test_iso_dates_and_date_times_are_that_moment(text, moment):
    assert parse_when(text, NOW) == moment


@pytest.mark.parametrize("text", ["yesterday", "2x", "7", "d", "-7d", "1y", "7 days", "2026-13-01",
                                  "2026-02-30T00:00:00Z", "2026-11-01T08:00:00.1234567890Z", "", "99999999999w"])
def test_anything_else_is_refused_with_the_one_message(text):
    with pytest.raises(ValueError) as err:
        parse_when(text, NOW)
    assert str(err.value) == MESSAGE + repr(text)


@pytest.mark.parametrize("text", ["8", "2026-11-01", "eight hours", "8hours", "-1h"])
def test_a_duration_is_an_age_only(text):
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == f"expected a duration such as 30s, 15m, 6h, 7d, 2w; got {text!r}"


def test_graph_timestamps_of_list_stubs_parse_the_same_way():
    assert _graph_time("2026-11-01T08:00:00.2169889Z") == datetime(2026, 11, 1, 8, 0, 0, 216988, tzinfo=UTC)
    assert _graph_time("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert _graph_time("not a time") is None
    assert _graph_time(None) is None
