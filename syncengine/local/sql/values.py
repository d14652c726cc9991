"""Values between the platform's columns and JSON records, in both directions.

Rows are read RAW (no SQLAlchemy type processing) and converted here, value by value: a
single badly stored value (a non-JSON document, an unparseable timestamp) then makes only
its own row malformed, instead of aborting the read of the whole table.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Dialect, Integer, Numeric

from syncengine.domain.ports import Record
from syncengine.domain.records import contact_id_problem
from syncengine.errors import LocalDataError
from syncengine.local.documents import parse_document

__all__ = [
    "bind_contact_id",
    "bind_document",
    "bind_key",
    "bind_leaf",
    "bind_modified",
    "json_value",
    "key_text",
    "read_contact_id",
    "read_document",
    "read_leaf",
]


# A whole number as text (ASCII digits only: int() would also take "١٢" or "1_000").
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _numeric(column: Column[Any]) -> bool:
    return isinstance(column.type, Integer | Numeric)


# -- keys and contact ids ----------------------------------------------------------------


def key_text(raw: Any) -> str:
    """The platform key as the port's text ``LocalRecord.key``."""
    if isinstance(raw, Decimal) and raw == raw.to_integral_value():
        return str(int(raw))
    return str(raw)


def bind_key(column: Column[Any], key: str) -> Any:
    """``key`` as the key column stores it; ValueError if it cannot be such a key."""
    return int(key) if _numeric(column) else key


def read_contact_id(raw: Any) -> int | None:
    """The CRM+ id in a row (None: not linked yet); ValueError for anything but one."""
    if raw is None:
        return None
    value: Any = raw
    if isinstance(raw, str) and _WHOLE_NUMBER.fullmatch(raw.strip()):
        value = int(raw.strip())  # a sign included: "-5" is out of range, not "not a number"
    elif isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        value = int(raw)  # (int() of an infinite NUMERIC would raise OverflowError)
    problem = contact_id_problem(value)
    if problem is not None:
        # Out of CRM+'s range (or not a number) it names no contact: this row is malformed.
        raise ValueError(f"{raw!r} is not a CRM+ contact id: {problem}")
    assert type(value) is int  # what contact_id_problem just checked
    return value


def bind_contact_id(column: Column[Any], contact_id: int) -> Any:
    return contact_id if _numeric(column) else str(contact_id)


# -- modification times ------------------------------------------------------------------


def bind_modified(column: Column[Any], moment: datetime) -> Any:
    """An aware UTC time as the column keeps it: aware for a zone-aware type, naive UTC
    for a plain timestamp, ISO 8601 text for a text column."""
    column_type = column.type
    if isinstance(column_type, DateTime):
        return moment if column_type.timezone else moment.replace(tzinfo=None)
    return moment.isoformat()


# -- documents ---------------------------------------------------------------------------


def read_document(raw: Any, where: str) -> Record:
    """The JSON document in a row; NULL is an empty document (nothing managed)."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw  # a JSON/JSONB column the driver already decoded
    if isinstance(raw, str | bytes):
        return parse_document(raw, where)
    if isinstance(raw, memoryview):
        return parse_document(raw.tobytes(), where)
    raise LocalDataError(where, f"the document is {type(raw).__name__}, not a JSON object")


def bind_document(column: Column[Any], document: Record) -> Any:
    if isinstance(column.type, JSON):
        return document
    return json.dumps(document, ensure_ascii=False, allow_nan=False)


# -- mapped columns ----------------------------------------------------------------------


def read_leaf(column: Column[Any], dialect: Dialect, raw: Any) -> Any:
    """A mapped column's value as JSON (ValueError if it cannot be one).

    The column type's own result processing is applied here, where one failure concerns
    one row (SQLite keeps booleans as 0/1 and dates as text).
    """
    processor = column.type.result_processor(dialect, None)
    value = processor(raw) if processor is not None and raw is not None else raw
    return json_value(value)


def json_value(value: Any) -> Any:
    """A database value as the JSON a record holds."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return value  # a JSON column
    raise ValueError(f"a {type(value).__name__} value cannot be a JSON record value")


def bind_leaf(column: Column[Any], value: Any) -> Any:
    """A record value for a mapped column; ValueError if the column cannot take it.

    CRM+ writes dates as text and "" for "no date"; date columns need date objects.
    """
    column_type = column.type
    if isinstance(value, str) and isinstance(column_type, DateTime):
        return datetime.fromisoformat(value) if value.strip() else None
    if isinstance(value, str) and isinstance(column_type, Date):
        return date.fromisoformat(value) if value.strip() else None
    return value
