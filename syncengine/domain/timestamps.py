"""CRM+ timestamps: ``"2023-11-30T14:20:56.3533333"``.

The API renders ``createDateTimeUtc``/``modifiedDateTimeUtc`` the .NET way: no zone
suffix, and 0 to 7 fraction digits (.NET counts 100-nanosecond ticks; trailing zeros
are dropped, and the dot too when the fraction is zero). They are named UTC, but one
source says they are in the organisation's zone, so the zone is a parameter that
defaults to UTC (any ``tzinfo``: ``datetime.UTC``, a ``timezone`` or a ``ZoneInfo``).

Python's datetime stops at microseconds (6 digits). The 7th digit is TRUNCATED, never
rounded: rounding can carry into the next second (or day, or year) and would make a
timestamp look later than the server wrote it. The truncated digit is not lost: the
parser returns a ``CrmTimestamp``, a datetime that also keeps it, so that
``format_crm_timestamp`` gives back the exact text and ``crm_timestamp_sort_key`` orders
two writes 100 ns apart. ``modifiedDateTimeUtc`` is the only concurrency signal the API
has, so those 100 ns matter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

__all__ = [
    "CrmTimestamp",
    "crm_ticks",
    "crm_timestamp_sort_key",
    "format_crm_timestamp",
    "parse_crm_timestamp",
]

TICKS_PER_SECOND: Final = 10_000_000
_TICKS_PER_MICROSECOND: Final = 10

_TIMESTAMP: Final = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<fraction>\d{1,7}))?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


class CrmTimestamp(datetime):
    """An aware datetime that also remembers the 100-ns digit Python cannot hold.

    It is a datetime in every other respect; datetime arithmetic, ``replace`` and
    ``astimezone`` return values that forget the extra digit (``sub_microsecond`` 0),
    and ``==`` ignores it: compare with ``crm_ticks`` when 100 ns matter.
    """

    # A class-level default: datetime's own constructors (used by replace/astimezone on
    # subclasses) know nothing of the extra digit, and then it is simply 0.
    sub_microsecond: int = 0

    @classmethod
    def from_datetime(cls, moment: datetime, sub_microsecond: int = 0) -> CrmTimestamp:
        if not 0 <= sub_microsecond <= 9:
            raise ValueError(f"sub_microsecond must be 0-9, not {sub_microsecond}")
        value = cls(
            moment.year,
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second,
            moment.microsecond,
            moment.tzinfo,
            fold=moment.fold,
        )
        value.sub_microsecond = sub_microsecond
        return value

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # datetime pickles (and deep-copies) through its own state, which has no room for
        # the extra digit: rebuild from the plain datetime plus the digit instead.
        plain = datetime(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.microsecond,
            self.tzinfo,
            fold=self.fold,
        )
        return (CrmTimestamp.from_datetime, (plain, self.sub_microsecond))


def parse_crm_timestamp(raw: str, zone: tzinfo = UTC) -> CrmTimestamp:
    """Parse a CRM+ timestamp into an aware datetime in UTC.

    A value without a zone suffix is read in ``zone``; a trailing ``Z`` or ``+HH:MM``
    wins over ``zone``. In a zone with daylight saving, a wall time that happens twice
    is read as the first one (``fold=0``). ValueError for anything else.
    """
    match = _TIMESTAMP.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(
            f"not a CRM+ timestamp: {raw!r} "
            "(expected YYYY-MM-DDTHH:MM:SS with 0-7 fraction digits and an optional Z/offset)"
        )
    fraction = (match["fraction"] or "").ljust(7, "0")
    try:
        moment = datetime.fromisoformat(match["base"]).replace(microsecond=int(fraction[:6]))
        if match["zone"]:
            offset = datetime.fromisoformat("2000-01-01T00:00:00" + match["zone"]).tzinfo
            moment = moment.replace(tzinfo=offset)
        else:
            moment = moment.replace(tzinfo=zone)
        in_utc = moment.astimezone(UTC)
    # Month 13, an offset beyond 24 hours, or a shift past year 1 or 9999.
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a CRM+ timestamp: {raw!r} ({exc})") from None
    return CrmTimestamp.from_datetime(in_utc, int(fraction[6]))


def format_crm_timestamp(moment: datetime, zone: tzinfo = UTC) -> str:
    """Render the way the API does: no zone, up to 7 fraction digits, trailing zeros and a
    bare dot dropped. An aware datetime is first converted to ``zone``; a naive one is
    taken to be in ``zone`` already.
    """
    sub = getattr(moment, "sub_microsecond", 0)  # before astimezone forgets it
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    # isoformat, not strftime: strftime("%Y") does not pad years before 1000 on Linux.
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    fraction = f"{moment.microsecond:06d}{sub}".rstrip("0")
    return f"{text}.{fraction}" if fraction else text


def crm_ticks(moment: datetime) -> int:
    """100-ns ticks since 0001-01-01T00:00:00 UTC (the .NET epoch), counting the digit a
    ``CrmTimestamp`` keeps. A naive datetime is taken to be UTC."""
    sub = getattr(moment, "sub_microsecond", 0)  # before astimezone forgets it
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    since = moment - datetime(1, 1, 1)
    return (since // timedelta(microseconds=1)) * _TICKS_PER_MICROSECOND + sub


def crm_timestamp_sort_key(raw: str, zone: tzinfo = UTC) -> int:
    """A key that orders CRM+ timestamps exactly, to the 100-ns tick (datetimes, at
    microseconds, would call two writes 100 ns apart simultaneous)."""
    return crm_ticks(parse_crm_timestamp(raw, zone))


def newer_stamp(candidate: object, than: object) -> bool:
    """Whether the raw CRM+ stamp ``candidate`` is strictly later than ``than``. A record
    seen by a bulk query is only worth more than the base if it is newer: an older one
    (the query ran before our own write) would take the contact back in time. Unknown or
    unreadable stamps are never "newer": the caller reads the record afresh instead."""
    if not isinstance(candidate, str):
        return False
    if not isinstance(than, str):
        return than is None
    try:
        return crm_timestamp_sort_key(candidate) > crm_timestamp_sort_key(than)
    except ValueError:
        return False
