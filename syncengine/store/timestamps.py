"""UTC discipline for everything the store keeps in time.

The store only ever holds aware UTC datetimes: SQLite has no time zones and hands back
naive values, PostgreSQL hands back values in the session's zone, and comparing naive with
aware datetimes raises at the worst moment. Every datetime crosses this module on the way in
and on the way out.
"""

from datetime import UTC, datetime, tzinfo

from syncengine.domain import timestamps as crm_timestamps


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default clock of the repositories)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` converted to UTC; a naive datetime is refused.

    Guessing the zone of a naive datetime (local time? UTC?) is how hour-shifted merge
    bases happen, so the caller must say.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware datetime")
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    """``as_utc`` for columns that may be empty."""
    return None if value is None else as_utc(value)


def from_database(value: datetime) -> datetime:
    """A datetime read back from either backend, as aware UTC.

    Only this store writes these columns and it always writes UTC, so a naive value
    (SQLite) is UTC by construction.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_crm_timestamp(raw: str | None, zone: tzinfo = UTC) -> datetime | None:
    """The mirror's parsed copy of a CRM+ ``modifiedDateTimeUtc``: aware UTC, or None.

    Parsing is the domain's (``syncengine.domain.timestamps``); the store only decides
    that a value which does not parse is stored as None rather than refused: the raw
    string is kept verbatim anyway, and the parsed copy only serves ordering and queries.
    ``zone`` is the zone of a value without a suffix (CRM+ renders none).
    """
    if not raw:
        return None
    try:
        parsed = crm_timestamps.parse_crm_timestamp(raw, zone)
    except ValueError:
        return None
    # A plain datetime: database drivers need not know the domain's subclass, and the
    # 100-ns digit it keeps cannot be stored in a timestamp column anyway.
    return datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=UTC,
    )
