"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from syncengine.store.timestamps import as_utc, from_database

# JSONB on PostgreSQL (indexable, compact, deduplicated keys), plain JSON text elsewhere.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

# Journal ids: 64-bit on PostgreSQL. SQLite only autoincrements a column declared exactly
# INTEGER PRIMARY KEY (which is 64-bit there anyway), so it gets INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as aware UTC and comes out as aware UTC on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time (it has no zones),
    which still sorts and compares correctly because every value is UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        # SQLite's DATETIME rendering drops the offset anyway; strip it explicitly so the
        # stored text is always the UTC wall time, never a local one.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - a driver contract breach
            raise TypeError(f"expected a datetime from the database, got {type(value)!r}")
        return from_database(value)
