"""Modification times: every adapter reports them as aware UTC datetimes.

Optimistic concurrency compares them at microsecond precision, the finest a Python
datetime holds (file systems keep nanoseconds; see ``files``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND: Final = timedelta(microseconds=1)


def require_aware(moment: datetime, what: str) -> datetime:
    """``moment`` in UTC; a naive datetime is a programming error (which zone would it be?)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not naive {moment!r}")
    return moment.astimezone(UTC)


def from_ns(nanoseconds: int) -> datetime:
    """A file system time (ns since the epoch) as aware UTC, truncated to microseconds."""
    # Integer arithmetic: datetime.fromtimestamp(ns / 1e9) goes through a float and can
    # land one microsecond off, which would read as a change.
    return EPOCH + timedelta(microseconds=nanoseconds // 1000)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch: the unit modification times are compared in."""
    return (require_aware(moment, "a modification time") - EPOCH) // ONE_MICROSECOND


def same_moment(a: datetime, b: datetime) -> bool:
    return micros(a) == micros(b)


def later_than(previous: datetime | None, now: datetime) -> datetime:
    """``now``, or one microsecond after ``previous`` if the clock has not moved past it.

    Every write must change the modification time, or a writer holding the previous one
    would pass the concurrency check and overwrite this write.
    """
    now = require_aware(now, "the clock's time")
    if previous is not None and micros(now) <= micros(previous):
        return previous.astimezone(UTC) + ONE_MICROSECOND
    return now


def as_utc(value: Any) -> datetime:
    """A database timestamp as aware UTC. Naive values are taken as UTC.

    Accepts datetimes and ISO 8601 text (SQLite keeps timestamps as text). ValueError
    for anything else.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
