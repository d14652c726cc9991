"""Time in the sandbox: .NET ticks as the stored form, and the API's date formats.

Timestamps are stored as .NET ticks (100 ns units since 0001-01-01, UTC): ints compare
and sort exactly, and two writes 100 ns apart stay distinct, which Python's datetime
(microseconds) cannot promise. Reading and rendering the wire text is the domain's
(``syncengine.domain.timestamps``), so client and sandbox agree to the digit.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from syncengine.domain.timestamps import (
    CrmTimestamp,
    crm_ticks,
    format_crm_timestamp,
    parse_crm_timestamp,
)

TICKS_PER_SECOND = 10_000_000
_TICKS_PER_MICROSECOND = 10
_EPOCH = datetime(1, 1, 1)
_UNIX_EPOCH_TICKS = crm_ticks(datetime(1970, 1, 1))

# ISO 8601 as the API accepts a date on write: a calendar date, optionally with a time and
# a zone. Stricter than the domain's date reader on purpose: the read format "M/D/YYYY"
# is refused on write, which is the trap a client must be caught falling into.
_ISO_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


def datetime_from_ticks(ticks: int) -> datetime:
    """A naive (UTC) datetime, truncated to the microsecond."""
    return _EPOCH + timedelta(microseconds=ticks // _TICKS_PER_MICROSECOND)


def unix_seconds_from_ticks(ticks: int) -> float:
    return (ticks - _UNIX_EPOCH_TICKS) / TICKS_PER_SECOND


def render_timestamp(ticks: int) -> str:
    """.NET style: no zone, up to 7 fraction digits, trailing zeros (and a bare dot) dropped."""
    moment = CrmTimestamp.from_datetime(datetime_from_ticks(ticks), ticks % _TICKS_PER_MICROSECOND)
    return format_crm_timestamp(moment)


def parse_timestamp(text: str) -> int:
    """Ticks of a timestamp in the API's format (0 to 7 fraction digits, read as UTC)."""
    return crm_ticks(parse_crm_timestamp(text))


def is_iso_date(text: str) -> bool:
    """True if ``text`` is an ISO 8601 date or date-time that names a real day."""
    try:
        parse_iso_date(text)
    except ValueError:
        return False
    return True


def parse_iso_date(text: str) -> date:
    """The calendar day of an ISO 8601 date or date-time ("2024-03-01", "2024-03-01T10:00Z")."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 date: {text!r}")
    return date.fromisoformat(match.group(1))


def render_mdy(day: date) -> str:
    """The read format of dates: "9/4/1998" (no zero padding)."""
    return f"{day.month}/{day.day}/{day.year}"
