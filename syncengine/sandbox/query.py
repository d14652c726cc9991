"""POST /api/Contact/Query and /Query/FullContact: parsing the filter body and running it.

Conditions in a group AND, groups OR; no groups means everything. What each parameter
and operator means is in ``query_parameters`` and ``query_operators``; relative date
values in ``query_dates``. Dates compare at DAY granularity (the strict reading of "the
date filter may be day-granular"), so a client paging by "Last Modified Date" must
overlap its window and drop what it already holds. Anything the sandbox cannot read
exactly is a 400 naming the condition and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.query_operators import OPERATORS, Operand, Operands, Test
from syncengine.sandbox.query_parameters import (
    PARAMETERS,
    SORTABLE,
    Parameter,
    QueryContext,
)
from syncengine.sandbox.records import ARCHIVED

MAX_TAKE = 1000
DEFAULT_TAKE = 10  # what the vendor documents when ``take`` is left out


@dataclass(frozen=True)
class Condition:
    parameter: Parameter
    test: Test

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
        extract = PARAMETERS[self.sort_by].extract
        return sorted(found, key=lambda c: (extract(c), c["id"]), reverse=self.descending)


def parse_query(body: Any, ctx: QueryContext) -> ContactQuery:
    """The query body, or 400 naming what is wrong with it."""
    if not isinstance(body, dict):
        raise BadRequestError("The query body must be a JSON object.")
    groups = body.get("groups") or []
    if not isinstance(groups, list):
        raise BadRequestError("'groups' must be an array.")
    sort_by = body.get("sortBy") or "Contact Id"
    if sort_by not in SORTABLE:
        raise BadRequestError(f"Cannot sort by {sort_by!r}; use one of {list(SORTABLE)}.")
    flags = {key: body.get(key, False) for key in ("descending", "includeArchived")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise BadRequestError(f"'{key}' must be true or false.")
    return ContactQuery(
        groups=tuple(_parse_group(g, i, ctx) for i, g in enumerate(groups)),
        sort_by=sort_by,
        descending=flags["descending"],
        include_archived=flags["includeArchived"],
    )


def _parse_group(group: Any, index: int, ctx: QueryContext) -> tuple[Condition, ...]:
    conditions = group.get("conditions") if isinstance(group, dict) else None
    if not isinstance(conditions, list):
        raise BadRequestError(f"groups[{index}] needs a 'conditions' array.")
    return tuple(
        _parse_condition(c, f"groups[{index}].conditions[{i}]", ctx)
        for i, c in enumerate(conditions)
    )


def _parse_condition(condition: Any, where: str, ctx: QueryContext) -> Condition:
    if not isinstance(condition, dict):
        raise BadRequestError(f"{where} must be an object.")
    name = condition.get("parameter")
    parameter = PARAMETERS.get(name) if isinstance(name, str) else None
    if parameter is None:
        raise BadRequestError(f"{where}: unknown parameter {name!r}.")
    operator_name = condition.get("operator")
    operator = OPERATORS.get(operator_name) if isinstance(operator_name, str) else None
    if operator is None:
        raise BadRequestError(f"{where}: unknown operator {operator_name!r}.")
    if operator.name not in parameter.operators:
        raise BadRequestError(
            f"{where}: operator {operator.name!r} does not apply to {parameter.name!r}; "
            f"use one of {list(parameter.operators)}."
        )
    try:
        operand = _parse_operand(condition, operator.operands, parameter, ctx)
    except ValueError as exc:
        raise BadRequestError(f"{where} ({parameter.name} {operator.name}): {exc}.") from exc
    return Condition(parameter, operator.make(operand))


def _parse_operand(
    condition: dict[str, Any], operands: Operands, parameter: Parameter, ctx: QueryContext
) -> Operand:
    if operands is Operands.NONE:
        return Operand()  # a value sent anyway is ignored, as valueRequired: false implies
    if operands is Operands.VALUES:
        values = condition.get("values")
        if not isinstance(values, list) or not values:
            raise ValueError("needs a non-empty 'values' array")
        return Operand(values=tuple(parameter.parse(v, ctx) for v in values))
    value = parameter.parse(_required(condition, "value"), ctx)
    if operands is Operands.RANGE:
        return Operand(value, parameter.parse(_required(condition, "secondaryValue"), ctx))
    return Operand(value)


def _required(condition: dict[str, Any], key: str) -> Any:
    value = condition.get(key)
    if value is None or value == "":
        raise ValueError(f"needs a '{key}'")
    return value


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
