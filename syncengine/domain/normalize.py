"""Server normalisation is not a change.

CRM+ answers a PUT with the record as it stored it: whitespace trimmed, state codes
canonical, dates read back as ``M/D/YYYY`` or ``""``. If the engine compared raw values,
every such difference would look like an edit made in the CRM, be synced back to the
platform, and flap forever. So values are compared in a NORMAL FORM:

- STRING: whitespace trimmed; ``""`` and None are the same (no value). A US state
  code is upper-cased when the enclosing address is in the US (see ``is_us_address``).
  Numbers that reached a text field (postal 12345) read as their text.
- DATE: compared as dates whatever the format (``9/4/1998`` == ``1998-09-04``);
  ``""``, None and ``"Unavailable"`` are no date. Normal form: ISO text or None.
- INT, BOOL: natural values (``"2010"`` == 2010, ``"true"`` == True), as ``coerce``
  reads them; a value coerce refuses is compared as it is.
- TIMESTAMP: the same instant, rendered the CRM way (trailing zeros do not matter).
- MONEY: the amount (``"$1,200.00"`` == ``"$1,200"``); no value is None.
- OPAQUE (custom field values, whose type is org-defined): text trimmed, ``""`` is None.

Emails are NOT case-folded, only trimmed. The local part of an address is
case-sensitive by the standard (RFC 5321), the CRM stores the case it is given, and a
case fix ("JOHN@x.org" -> "john@x.org") is a real edit a person made and wants synced;
folding case here would hide it. Matching a contact BY email is a different question,
answered where lookups are made.

``normalize_for_server`` is the other side: only what the live server is seen to do to
a value it stores (trim text, canonical state codes), for the sandbox to imitate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from syncengine.domain.fieldtypes import (
    NO_VALUE_WORDS,
    coerce,
    map_record,
    parse_money,
    parse_read_date,
)
from syncengine.domain.paths import Path
from syncengine.domain.ports import Record
from syncengine.domain.schema import US_STATE_CODES, Field, Kind
from syncengine.domain.timestamps import format_crm_timestamp, parse_crm_timestamp
from syncengine.errors import CoercionError

__all__ = [
    "is_us_address",
    "normalize_for_server",
    "normalize_record",
    "normalize_record_for_server",
    "normalize_value",
    "values_equivalent",
]

# How people and the CRM write "the United States" in an address's ``country``, folded.
# An empty country counts: the CRM is US-centric and leaves it empty for US addresses.
US_COUNTRY_NAMES: Final = frozenset(
    {"", "us", "u.s.", "usa", "u.s.a.", "united states", "united states of america"}
)


def is_us_address(address: Mapping[str, Any] | None) -> bool:
    """Is this address in the US (so its ``state`` is a US state code)? An address with
    no country, or no address at all, counts as US."""
    country = (address or {}).get("country")
    return country is None or (
        isinstance(country, str) and country.strip().casefold() in US_COUNTRY_NAMES
    )


def _canonical_state(text: str, context: Mapping[str, Any] | None) -> str:
    # Only codes are canonicalised: "ca" -> "CA", but "California" and foreign regions
    # are left alone (no evidence the server maps names to codes).
    upper = text.upper()
    return upper if upper in US_STATE_CODES and is_us_address(context) else text


def _trimmed_text(field_name: str, value: str, context: Mapping[str, Any] | None) -> str:
    text = value.strip()
    return _canonical_state(text, context) if field_name == "state" else text


def _natural(kind: Kind, value: Any) -> Any:
    """``value`` as coerce reads it, or unchanged if coerce refuses it: comparing must
    never fail, and a value coerce refuses is at least equal to itself."""
    try:
        return coerce(kind.value, kind, value)
    except CoercionError:
        return value


def normalize_value(
    kind: Kind, field_name: str, value: Any, context: Mapping[str, Any] | None = None
) -> Any:
    """The normal form of ``value`` for comparison (see the module docstring).

    ``field_name`` is the key the value sits under (``state``...); ``context`` is the
    object holding it: for ``state``, the address whose ``country`` says whether it is a
    US code. Idempotent: normalising a normal form changes nothing.
    """
    if kind in (Kind.STRING, Kind.OPAQUE):
        text = _natural(Kind.STRING, value) if kind is Kind.STRING else value
        if not isinstance(text, str):
            return text
        return _trimmed_text(field_name, text, context) or None
    if kind is Kind.DATE:
        try:
            day = parse_read_date(value)
        except ValueError:
            return value.strip() if isinstance(value, str) else value
        return day.isoformat() if day else None
    if kind in (Kind.INT, Kind.BOOL):
        return _natural(kind, value)
    if kind is Kind.TIMESTAMP:
        if value is None or (isinstance(value, str) and value.strip().lower() in NO_VALUE_WORDS):
            return None
        try:
            return format_crm_timestamp(parse_crm_timestamp(value))
        except ValueError:
            return value
    if kind is Kind.MONEY:
        try:
            return parse_money(value)
        except ValueError:
            return value.strip() if isinstance(value, str) else value
    return value  # OBJECT / ARRAY: see normalize_record


def same_normal_form(a: Any, b: Any) -> bool:
    """Whether two normal forms are the same value. ``True == 1`` in Python; a boolean
    and a number are never the same field value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def values_equivalent(
    kind: Kind, field_name: str, a: Any, b: Any, context: Mapping[str, Any] | None = None
) -> bool:
    """Do ``a`` and ``b`` mean the same once server normalisation is set aside?"""
    return same_normal_form(
        normalize_value(kind, field_name, a, context),
        normalize_value(kind, field_name, b, context),
    )


def normalize_for_server(
    kind: Kind, field_name: str, value: Any, context: Mapping[str, Any] | None = None
) -> Any:
    """What the live server does to a value it stores: text fields are trimmed and US
    state codes upper-cased. Nothing else (empty text stays ``""``, null stays null):
    the sandbox imitates only what has been observed."""
    if kind is Kind.STRING and isinstance(value, str):
        return _trimmed_text(field_name, value, context)
    return value


def normalize_record(shape_name: str, record: Mapping[str, Any]) -> Record:
    """A copy of a record with every known field in normal form (unknown keys as they
    are). Array order is kept: arrays are compared by item identity, not position."""

    def leaf(at: Path, field: Field, value: Any, holder: Mapping[str, Any]) -> Any:
        return normalize_value(field.kind, at.last.name, value, holder)

    return map_record(shape_name, record, leaf)


def normalize_record_for_server(shape_name: str, record: Mapping[str, Any]) -> Record:
    """A copy of a record as the server would store it (see ``normalize_for_server``)."""

    def leaf(at: Path, field: Field, value: Any, holder: Mapping[str, Any]) -> Any:
        return normalize_for_server(field.kind, at.last.name, value, holder)

    return map_record(shape_name, record, leaf)
