"""POST /api/Contact/Query/FullContact: parsing the filter body and running it.

Conditions in a group AND, groups OR. "Last Modified Date" compares at DAY granularity
(the strict reading of "the date filter may be day-granular"), so a client paging by it
must overlap its window and drop what it already holds.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncengine.domain.fieldtypes import parse_read_date
from syncengine.domain.ports import Record
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.records import ARCHIVED
from syncengine.sandbox.timefmt import datetime_from_ticks

MAX_TAKE = 1000
DEFAULT_TAKE = 10  # what the vendor documents when ``take`` is left out

_Compare = Callable[[Any, Any], bool]


def _between(low: Any, high: Any) -> Callable[[Any], bool]:
    return lambda actual: bool(low <= actual <= high)


_OPERATORS: Mapping[str, _Compare] = {
    "Is": operator.eq,
    "After": operator.gt,
    "Before": operator.lt,
    "OnOrAfter": operator.ge,
    "OnOrBefore": operator.le,
    "GreaterThan": operator.gt,
    "LessThan": operator.lt,
    "GreaterThanOrEqual": operator.ge,
    "LessThanOrEqual": operator.le,
}


@dataclass(frozen=True)
class _Parameter:
    operators: frozenset[str]
    parse: Callable[[Any], Any]  # a condition value -> comparable
    extract: Callable[[Record], Any]  # a stored contact -> comparable


def _parse_day(value: Any) -> date:
    day = parse_read_date(value) if isinstance(value, str) else None  # ISO or "M/D/YYYY"
    if day is None:
        raise ValueError(f"{value!r} is not a date")
    return day


def _parse_id(value: Any) -> int:
    # The vendor's examples send condition values as strings; numbers are accepted too.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a contact id")
    return int(value)


_PARAMETERS: Mapping[str, _Parameter] = {
    "Last Modified Date": _Parameter(
        frozenset({"After", "Before", "Between", "Is", "OnOrAfter", "OnOrBefore"}),
        _parse_day,
        lambda contact: datetime_from_ticks(contact["modifiedDateTimeUtc"]).date(),
    ),
    "Contact Id": _Parameter(
        frozenset(
            {"GreaterThan", "LessThan", "Is", "GreaterThanOrEqual", "LessThanOrEqual", "Between"}
        ),
        _parse_id,
        lambda contact: contact["id"],
    ),
}


@dataclass(frozen=True)
class Condition:
    parameter: _Parameter
    test: Callable[[Any], bool]

    def matches(self, contact: Record) -> bool:
        return self.test(self.parameter.extract(contact))


@dataclass(frozen=True)
class ContactQuery:
    groups: tuple[tuple[Condition, ...], ...]
    sort_by: str
    descending: bool
    include_archived: bool

    def matches(self, contact: Record) -> bool:
        if contact[ARCHIVED] and not self.include_archived:
            return False
        return not self.groups or any(all(c.matches(contact) for c in g) for g in self.groups)

    def run(self, contacts: Iterable[Record]) -> list[Record]:
        """The matching contacts in answer order (ties broken by id, so paging is stable)."""
        found = [c for c in contacts if self.matches(c)]
        extract = _PARAMETERS[self.sort_by].extract
        return sorted(found, key=lambda c: (extract(c), c["id"]), reverse=self.descending)


def parse_query(body: Any) -> ContactQuery:
    """The query body, or 400 naming what is wrong with it."""
    if not isinstance(body, dict):
        raise BadRequestError("The query body must be a JSON object.")
    groups = body.get("groups") or []
    if not isinstance(groups, list):
        raise BadRequestError("'groups' must be an array.")
    sort_by = body.get("sortBy") or "Contact Id"
    if sort_by not in _PARAMETERS:
        raise BadRequestError(f"Cannot sort by {sort_by!r}; use one of {sorted(_PARAMETERS)}.")
    flags = {key: body.get(key, False) for key in ("descending", "includeArchived")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise BadRequestError(f"'{key}' must be true or false.")
    return ContactQuery(
        groups=tuple(_parse_group(g, i) for i, g in enumerate(groups)),
        sort_by=sort_by,
        descending=flags["descending"],
        include_archived=flags["includeArchived"],
    )


def _parse_group(group: Any, index: int) -> tuple[Condition, ...]:
    conditions = group.get("conditions") if isinstance(group, dict) else None
    if not isinstance(conditions, list):
        raise BadRequestError(f"groups[{index}] needs a 'conditions' array.")
    return tuple(
        _parse_condition(c, f"groups[{index}].conditions[{i}]") for i, c in enumerate(conditions)
    )


def _parse_condition(condition: Any, where: str) -> Condition:
    if not isinstance(condition, dict):
        raise BadRequestError(f"{where} must be an object.")
    parameter_name = condition.get("parameter")
    parameter = _PARAMETERS.get(parameter_name) if isinstance(parameter_name, str) else None
    if parameter is None:
        raise BadRequestError(f"{where}: unknown parameter {condition.get('parameter')!r}.")
    name = condition.get("operator")
    if name not in parameter.operators:
        raise BadRequestError(
            f"{where}: operator {name!r} does not apply to {condition['parameter']!r}."
        )
    try:
        value = parameter.parse(condition.get("value"))
        if name == "Between":
            return Condition(
                parameter, _between(value, parameter.parse(condition.get("secondaryValue")))
            )
        compare = _OPERATORS[name]
        return Condition(parameter, lambda actual: compare(actual, value))
    except ValueError as exc:
        raise BadRequestError(f"{where}: {exc}.") from exc


def parse_paging(skip: str | None, take: str | None) -> tuple[int, int]:
    """``skip``/``take`` from the query string; take above 1000 is refused as live."""
    try:
        skip_n = int(skip) if skip not in (None, "") else 0
        take_n = int(take) if take not in (None, "") else DEFAULT_TAKE
    except ValueError as exc:
        raise BadRequestError("The request is invalid: skip and take must be integers.") from exc
    if skip_n < 0 or take_n < 0:
        raise BadRequestError("skip and take must not be negative.")
    if take_n > MAX_TAKE:
        raise BadRequestError(f"take must be at most {MAX_TAKE}.")
    return skip_n, take_n
