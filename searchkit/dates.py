"""Reading post dates in the many forms archives use, and date ranges."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FILENAME_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-")
_SPACED = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split()
    )
}
_ENGLISH = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_CHINESE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_EPOCH_MIN, _EPOCH_MAX = 0, 4102444800  # 1970 .. 2100


def resolve_timezone(name: str) -> tzinfo:
    """Turn a timezone name ("UTC", "Asia/Hong_Kong", "+08:00") into a tzinfo."""
    if name.upper() in ("UTC", "Z", ""):
        return timezone.utc
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return timezone(sign * timedelta(minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _to_utc(moment: datetime, tz: tzinfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


def _offset(text: str | None) -> tzinfo | None:
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return timezone(sign * timedelta(minutes=minutes))


def _parse_string(text: str, tz: tzinfo) -> datetime | None:
    text = text.strip()
    match = _SPACED.match(text)
    if match:
        y, mo, d, h, mi, s, off = match.groups()
        moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
        return _to_utc(moment.replace(tzinfo=_offset(off)) if off else moment, tz)
    try:
        return _to_utc(datetime.fromisoformat(text), tz)
    except ValueError:
        pass
    match = _ENGLISH.match(text)
    if match and match.group(1)[:3].lower() in _MONTHS:
        month = _MONTHS[match.group(1)[:3].lower()]
        return _to_utc(datetime(int(match.group(3)), month, int(match.group(2))), tz)
    match = _CHINESE.match(text)
    if match:
        return _to_utc(datetime(*map(int, match.groups())), tz)
    if text.isdigit() and _EPOCH_MIN <= int(text) <= _EPOCH_MAX:
        return datetime.fromtimestamp(int(text), timezone.utc)
    return None


def parse_post_date(value: object, tz: tzinfo = timezone.utc) -> datetime | None:
    """Read a front-matter date value; return an aware UTC datetime or None.

    Raises ValueError when a value is present but cannot be a date, so the
    caller can report it.  Empty values give None without complaint.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"date {value!r} is not a date")
    if isinstance(value, datetime):
        return _to_utc(value, tz)
    if isinstance(value, date):
        return _to_utc(datetime(value.year, value.month, value.day), tz)
    if isinstance(value, (int, float)):
        if _EPOCH_MIN <= value <= _EPOCH_MAX:
            return datetime.fromtimestamp(value, timezone.utc)
        raise ValueError(f"date {value!r} is out of range")
    if isinstance(value, str):
        try:
            parsed = _parse_string(value, tz)
        except ValueError:  # e.g. month 13: the regex matched, datetime refused
            parsed = None
        if parsed is None:
            raise ValueError(f"date {value!r} is not a date")
        return parsed
    raise ValueError(f"date of type {type(value).__name__} is not a date")


def date_from_filename(name: str, tz: tzinfo = timezone.utc) -> datetime | None:
    """The Jekyll `YYYY-MM-DD-` file-name prefix as a UTC datetime, if valid."""
    match = _FILENAME_DATE.match(name)
    if not match:
        return None
    try:
        return _to_utc(datetime(*map(int, match.groups())), tz)
    except ValueError:
        return None


def parse_day_bound(text: str, *, end: bool) -> datetime:
    """A user-supplied day, month or year as the first (or last) UTC instant.

    `2021` → 2021-01-01T00:00Z (or the end of 2021-12-31 when `end`).
    Raises ValueError naming the text when it is not a date.
    """
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            start = datetime(int(text), 1, 1, tzinfo=timezone.utc)
            stop = datetime(int(text) + 1, 1, 1, tzinfo=timezone.utc)
        elif re.fullmatch(r"\d{4}-\d{1,2}", text):
            y, m = map(int, text.split("-"))
            start = datetime(y, m, 1, tzinfo=timezone.utc)
            stop = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc)
        elif re.fullmatch(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", text):
            y, m, d = map(int, re.split("[-/]", text))
            start = datetime(y, m, d, tzinfo=timezone.utc)
            stop = start + timedelta(days=1)
        else:
            raise ValueError
        return stop - timedelta(microseconds=1) if end else start
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)") from None
