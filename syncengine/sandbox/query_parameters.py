"""The parameters a contact query condition may name: each one's type, the operators it
takes (as ``GET /api/Contact/QueryOptions`` lists them), how a condition value is read,
and which of a contact's values it looks at.

Names follow the vendor's documentation and public clients; types, operator lists and
their order copy the recorded ``QueryOptions`` response (see ``query_dates``) where it
has the same kind of parameter ("Contact Id", "Contact Name", "Contact Type", "State",
"Private", the Date and optional-text parameters). What each parameter looks at is the
sandbox's reading, documented in docs/sandbox.md ("Query language"):

- names (First Name, Last Name) and methods (Email Address, Phone Number): ANY
  individual's, ANY email-type / phone-type method's;
- address parts (City, State, Postal, Country): the PRIMARY address only, the one the
  Contact shows as ``address`` (a seasonal address is not where a contact lives);
- text compares ignoring case (SQL Server's default collation; Find matches emails the
  same way); ``""`` counts as unknown; phone numbers compare as written, digits and dashes;
- dates compare whole days (UTC), like "Last Modified Date" always has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type, is_phone_type
from syncengine.sandbox.query_dates import RELATIVE_DATE_NAMES, parse_day
from syncengine.sandbox.query_operators import Values
from syncengine.sandbox.records import primary_address
from syncengine.sandbox.timefmt import datetime_from_ticks


@dataclass(frozen=True)
class QueryContext:
    """What reading a condition needs besides the condition: the day relative dates count
    from, and the organisation's contact types (the options of "Contact Type")."""

    today: date
    contact_types: frozenset[str]


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # as QueryOptions names it: "Int", "String", "Date", "Boolean", "List", "Lookup"
    operators: tuple[str, ...]  # in the order QueryOptions lists them
    parse: Callable[[Any, QueryContext], Any]  # one condition value -> comparable (ValueError)
    extract: Callable[[Record], Values]  # a stored contact -> its known values
    value_options: Callable[[QueryContext], tuple[str, ...]] = lambda _ctx: ()


# Operator lists, per kind of parameter, as the recorded QueryOptions response lists them.
_INT = ("Is", "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "Between")
_DATE = (
    "Is",
    "LessThan",
    "LessThanOrEqual",
    "Before",
    "OnOrBefore",
    "GreaterThan",
    "GreaterThanOrEqual",
    "After",
    "OnOrAfter",
    "Between",
)
_NAME = ("Is", "Contains", "StartsWith", "EndsWith")  # never unknown
_OPTIONAL_TEXT = ("Is", "IsKnown", "IsNotKnown", "Contains", "StartsWith", "EndsWith")
_ADDRESS_TEXT = ("Is", "IsNot", "IsKnown", "IsNotKnown", "Contains", "StartsWith", "EndsWith")
_STATE = ("Is", "IsNot", "IsKnown", "IsNotKnown", "In", "NotIn")
_LIST = ("Is", "IsNot")
_BOOLEAN = ("IsTrue", "IsFalse")
_SET = ("Is", "IsAnyOf", "IsNoneOf")


def _parse_int(value: Any, _ctx: QueryContext) -> int:
    # The vendor's examples send condition values as strings; numbers are accepted too.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a whole number")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None


def _parse_text(value: Any, _ctx: QueryContext) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a text value")
    return value.strip().casefold()


def _parse_day(value: Any, ctx: QueryContext) -> date:
    return parse_day(value, ctx.today)


def _no_value(value: Any, _ctx: QueryContext) -> Any:
    # The operators of a Boolean parameter take no value, so nothing is ever read.
    raise ValueError(f"takes no value, got {value!r}")


def _parse_contact_type(value: Any, ctx: QueryContext) -> str:
    text = _parse_text(value, ctx)
    if text not in {t.casefold() for t in ctx.contact_types}:
        raise ValueError(f"{value!r} is not one of {sorted(ctx.contact_types)}")
    return text


def _texts(values: Iterable[Any]) -> Values:
    """The known text values, case-folded for comparison; blanks are unknown."""
    return tuple(v.strip().casefold() for v in values if isinstance(v, str) and v.strip())


def _day_of(key: str) -> Callable[[Record], Values]:
    return lambda contact: (datetime_from_ticks(contact[key]).date(),)


def _primary_address(part: str) -> Callable[[Record], Values]:
    def extract(contact: Record) -> Values:
        primary = primary_address(contact)
        return _texts([primary.get(part)] if primary else [])

    return extract


def _individuals(key: str) -> Callable[[Record], Values]:
    return lambda contact: _texts(i.get(key) for i in contact["contactIndividuals"])


def _methods(is_kind: Callable[[Any], bool]) -> Callable[[Record], Values]:
    return lambda contact: _texts(
        m.get("value")
        for individual in contact["contactIndividuals"]
        for m in individual["contactMethods"]
        if is_kind(m.get("type"))
    )


def _relative_dates(_ctx: QueryContext) -> tuple[str, ...]:
    return RELATIVE_DATE_NAMES


def _contact_types(ctx: QueryContext) -> tuple[str, ...]:
    return tuple(sorted(ctx.contact_types))


def _text(name: str, operators: tuple[str, ...], extract: Callable[[Record], Values]) -> Parameter:
    return Parameter(name, "String", operators, _parse_text, extract)


def _date(name: str, key: str) -> Parameter:
    return Parameter(name, "Date", _DATE, _parse_day, _day_of(key), _relative_dates)


_ALL: tuple[Parameter, ...] = (
    Parameter("Contact Id", "Int", _INT, _parse_int, lambda contact: (contact["id"],)),
    _text("Contact Name", _NAME, lambda contact: _texts([contact.get("name")])),
    Parameter(
        "Contact Type",
        "List",
        _LIST,
        _parse_contact_type,
        lambda contact: _texts([contact.get("contactType")]),
        _contact_types,
    ),
    _text("First Name", _NAME, _individuals("firstName")),
    _text("Last Name", _NAME, _individuals("lastName")),
    _text("Email Address", _OPTIONAL_TEXT, _methods(is_email_type)),
    _text("Phone Number", _OPTIONAL_TEXT, _methods(is_phone_type)),
    _text("City", _ADDRESS_TEXT, _primary_address("city")),
    _text("State", _STATE, _primary_address("state")),
    _text("Postal", _ADDRESS_TEXT, _primary_address("postal")),
    _text("Country", _ADDRESS_TEXT, _primary_address("country")),
    Parameter("Tag", "Lookup", _SET, _parse_text, lambda contact: _texts(contact["tags"])),
    Parameter(
        "Is Private",
        "Boolean",
        _BOOLEAN,
        _no_value,
        lambda contact: (bool(contact.get("isPrivate")),),
    ),
    _date("Create Date", "createDateTimeUtc"),
    _date("Last Modified Date", "modifiedDateTimeUtc"),
)

PARAMETERS: Mapping[str, Parameter] = {p.name: p for p in _ALL}

# What ``sortBy`` may name (ties are broken by id, so paging is stable).
SORTABLE = ("Contact Id", "Last Modified Date")
