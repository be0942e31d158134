"""Tables for reading post dates (`searchkit.dates`)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from searchkit.dates import date_from_filename, parse_day_bound, parse_post_date, resolve_timezone

UTC = timezone.utc
HK = resolve_timezone("Asia/Hong_Kong")
PLUS8 = resolve_timezone("+08:00")
NEW_YORK = resolve_timezone("America/New_York")  # UTC-4 in July (DST)

JULY_1 = datetime(2021, 7, 1, tzinfo=UTC)             # 2021-07-01T00:00Z == epoch 1625097600
JULY_1_0800 = datetime(2021, 7, 1, 8, tzinfo=UTC)
JUNE_30_1600 = datetime(2021, 6, 30, 16, tzinfo=UTC)  # midnight 2021-07-01 at UTC+8


def assert_utc(result: datetime | None, expected: datetime) -> None:
    assert isinstance(result, datetime)
    assert result.tzinfo is not None, "result must be timezone-aware"
    assert result.utcoffset() == timedelta(0), f"result {result!r} is not in UTC"
    assert result.tzinfo == UTC
    assert result == expected
    assert result.isoformat() == expected.isoformat()


# --------------------------------------------------------- parse_post_date

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(datetime(2021, 7, 1, 8, 0), JULY_1_0800, id="yaml-datetime-naive"),
        pytest.param(datetime(2021, 7, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))), JULY_1,
                     id="yaml-datetime-aware-+08"),
        pytest.param(datetime(2021, 7, 1, 0, 0, tzinfo=UTC), JULY_1, id="yaml-datetime-aware-utc"),
        pytest.param(datetime(2021, 7, 12, 5, 34, 9, 283000, tzinfo=UTC),
                     datetime(2021, 7, 12, 5, 34, 9, 283000, tzinfo=UTC), id="yaml-datetime-millis"),
        pytest.param(date(2021, 7, 1), JULY_1, id="date-object"),
        pytest.param("2021-07-01T00:00:00Z", JULY_1, id="iso-Z"),
        pytest.param("2021-07-01T08:00:00+08:00", JULY_1, id="iso-+08:00"),
        pytest.param("2021-07-01T02:00:00-06:00", datetime(2021, 7, 1, 8, tzinfo=UTC), id="iso--06:00"),
        pytest.param("2021-07-01", JULY_1, id="iso-date"),
        pytest.param("2021-07-01 08:00", JULY_1_0800, id="date-hh:mm"),
        pytest.param("2021-07-01 08:00:00 +0800", JULY_1, id="date-time-+0800"),
        pytest.param("2021/07/01", JULY_1, id="slashes"),
        pytest.param("2021/7/1", JULY_1, id="slashes-short"),
        pytest.param("July 1, 2021", JULY_1, id="english"),
        pytest.param("2021年7月1日", JULY_1, id="chinese"),
        pytest.param(1625097600, JULY_1, id="epoch-int"),
        pytest.param("1625097600", JULY_1, id="epoch-str"),
        pytest.param("  2021-07-01  ", JULY_1, id="surrounding-space"),
    ],
)
def test_parse_post_date_utc(value: object, expected: datetime) -> None:
    assert_utc(parse_post_date(value), expected)


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        pytest.param(datetime(2021, 7, 1, 8, 0), HK, JULY_1, id="naive-datetime-HK"),
        pytest.param(datetime(2021, 7, 1, 8, 0), PLUS8, JULY_1, id="naive-datetime-+08"),
        pytest.param(date(2021, 7, 1), HK, JUNE_30_1600, id="date-object-HK"),
        pytest.param("2021-07-01", HK, JUNE_30_1600, id="iso-date-HK"),
        pytest.param("2021-07-01", PLUS8, JUNE_30_1600, id="iso-date-+08"),
        pytest.param("2021-07-01 08:00", HK, JULY_1, id="date-hh:mm-HK"),
        pytest.param("2021-07-01 08:00", PLUS8, JULY_1, id="date-hh:mm-+08"),
        pytest.param("2021-07-01 08:00", NEW_YORK, datetime(2021, 7, 1, 12, tzinfo=UTC),
                     id="date-hh:mm-New_York-DST"),
        pytest.param("2021/7/1", HK, JUNE_30_1600, id="slashes-HK"),
        pytest.param("July 1, 2021", PLUS8, JUNE_30_1600, id="english-+08"),
        pytest.param("2021年7月1日", HK, JUNE_30_1600, id="chinese-HK"),
        # values that carry their own offset ignore the given timezone
        pytest.param("2021-07-01T00:00:00Z", HK, JULY_1, id="iso-Z-HK"),
        pytest.param("2021-07-01 08:00:00 +0800", NEW_YORK, JULY_1, id="+0800-New_York"),
        pytest.param(datetime(2021, 7, 1, tzinfo=UTC), HK, JULY_1, id="aware-datetime-HK"),
        pytest.param(1625097600, HK, JULY_1, id="epoch-int-HK"),
        pytest.param("1625097600", PLUS8, JULY_1, id="epoch-str-+08"),
    ],
)
def test_parse_post_date_naive_values_use_given_timezone(value: object, tz, expected: datetime) -> None:
    assert_utc(parse_post_date(value, tz), expected)


@pytest.mark.parametrize("value", ["", None], ids=["empty-string", "None"])
def test_parse_post_date_empty_is_none(value: object) -> None:
    assert parse_post_date(value) is None
    assert parse_post_date(value, HK) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2021-13-45", id="month-13"),
        pytest.param("2021-02-30", id="feb-30"),
        pytest.param("not a date", id="words"),
        pytest.param(True, id="bool-true"),
        pytest.param(False, id="bool-false"),
        pytest.param(["2021-07-01"], id="list"),
        pytest.param({"year": 2021}, id="dict"),
        pytest.param(-1, id="epoch-negative"),
        pytest.param(99999999999, id="epoch-after-2100"),
    ],
)
def test_parse_post_date_rejects_non_dates(value: object) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_post_date(value)


def test_resolve_timezone_forms() -> None:
    moment = datetime(2021, 7, 1)
    assert HK.utcoffset(moment) == timedelta(hours=8)
    assert PLUS8.utcoffset(moment) == timedelta(hours=8)
    assert resolve_timezone("-05:30").utcoffset(moment) == timedelta(hours=-5, minutes=-30)
    assert resolve_timezone("UTC") is UTC
    with pytest.raises(ValueError, match="Mars/Olympus"):
        resolve_timezone("Mars/Olympus")


# ------------------------------------------------------- date_from_filename

@pytest.mark.parametrize(
    ("name", "tz", "expected"),
    [
        pytest.param("2021-07-12-shenzhen-data-exchange.md", UTC, datetime(2021, 7, 12, tzinfo=UTC),
                     id="jekyll-prefix"),
        pytest.param("2021-7-1-short-digits.md", UTC, JULY_1, id="one-digit-month-day"),
        pytest.param("2021-07-12-shenzhen.md", HK, datetime(2021, 7, 11, 16, tzinfo=UTC), id="prefix-in-HK"),
        pytest.param("2021-13-01-bad-month.md", UTC, None, id="invalid-month"),
        pytest.param("2021-02-30-bad-day.md", UTC, None, id="invalid-day"),
        pytest.param("article_101.md", UTC, None, id="no-prefix"),
        pytest.param("2021-07-12.md", UTC, None, id="date-without-trailing-dash"),
        pytest.param("news-2021-07-12-x.md", UTC, None, id="date-not-at-start"),
    ],
)
def test_date_from_filename(name: str, tz, expected: datetime | None) -> None:
    result = date_from_filename(name, tz)
    if expected is None:
        assert result is None
    else:
        assert_utc(result, expected)


# ---------------------------------------------------------- parse_day_bound

END_OF_DAY = timedelta(days=1) - timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        pytest.param("2021", False, datetime(2021, 1, 1, tzinfo=UTC), id="year-start"),
        pytest.param("2021", True, datetime(2021, 12, 31, tzinfo=UTC) + END_OF_DAY, id="year-end"),
        pytest.param("2021-07", False, JULY_1, id="month-start"),
        pytest.param("2021-07", True, datetime(2021, 7, 31, tzinfo=UTC) + END_OF_DAY, id="month-end"),
        pytest.param("2021-12", True, datetime(2021, 12, 31, tzinfo=UTC) + END_OF_DAY, id="december-end"),
        pytest.param("2024-02", True, datetime(2024, 2, 29, tzinfo=UTC) + END_OF_DAY, id="leap-february-end"),
        pytest.param("2021-07-01", False, JULY_1, id="day-start"),
        pytest.param("2021-07-01", True, JULY_1 + END_OF_DAY, id="day-end"),
        pytest.param("2021/7/1", False, JULY_1, id="slashes-start"),
        pytest.param("2021/7/1", True, JULY_1 + END_OF_DAY, id="slashes-end"),
    ],
)
def test_parse_day_bound(text: str, end: bool, expected: datetime) -> None:
    assert_utc(parse_day_bound(text, end=end), expected)


@pytest.mark.parametrize("text", ["2021-7-x", "abc", "2021-13", "2021-02-30", "07/01/2021"])
@pytest.mark.parametrize("end", [False, True], ids=["start", "end"])
def test_parse_day_bound_rejects_and_names_text(text: str, end: bool) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_day_bound(text, end=end)
