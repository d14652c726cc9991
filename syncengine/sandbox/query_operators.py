"""The operators of a query condition: what operands each takes, and how it tests the
values a contact holds for the condition's parameter.

A parameter yields a tuple of the contact's KNOWN values (empty when unknown; several
for a parameter that looks into every individual or method, as "First Name" does). A
positive operator matches when any value satisfies it. The negative operators on a
column (``IsNot``, ``NotIn``) follow SQL: an unknown value satisfies neither ``= x`` nor
``<> x``, so a contact with no state is not "State IsNot CO" (the strict reading: a
client that wants those too must say ``IsNotKnown`` in another group). ``IsNoneOf`` is a
set operator (tags): a contact with no tags has none of them.

Names, operand needs (``valueRequired``, ``multipleValuesAllowed``) and the order are
those of a recorded ``QueryOptions`` response (see ``query_dates``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

Values = tuple[Any, ...]  # a contact's known values for one parameter
Test = Callable[[Values], bool]


class Operands(Enum):
    """What a condition must carry besides parameter and operator."""

    NONE = "none"  # IsKnown, IsTrue...: nothing (a value sent is ignored)
    VALUE = "value"
    RANGE = "range"  # value and secondaryValue (Between, inclusive)
    VALUES = "values"  # a non-empty ``values`` array


@dataclass(frozen=True)
class Operand:
    """The parsed operands of one condition (only those its operator takes are set)."""

    value: Any = None
    secondary: Any = None
    values: Values = ()


@dataclass(frozen=True)
class Operator:
    name: str
    operands: Operands
    make: Callable[[Operand], Test]

    @property
    def value_required(self) -> bool:
        return self.operands is not Operands.NONE

    @property
    def multiple_values_allowed(self) -> bool:
        return self.operands is Operands.VALUES


def _any(check: Callable[[Any, Operand], bool]) -> Callable[[Operand], Test]:
    return lambda operand: lambda values: any(check(v, operand) for v in values)


def _known_and_all(check: Callable[[Any, Operand], bool]) -> Callable[[Operand], Test]:
    return lambda operand: lambda values: bool(values) and all(check(v, operand) for v in values)


def _constant(test: Test) -> Callable[[Operand], Test]:
    return lambda _operand: test


_OPERATORS: tuple[Operator, ...] = (
    Operator("Is", Operands.VALUE, _any(lambda v, o: bool(v == o.value))),
    Operator("IsNot", Operands.VALUE, _known_and_all(lambda v, o: bool(v != o.value))),
    Operator("IsKnown", Operands.NONE, _constant(bool)),
    Operator("IsNotKnown", Operands.NONE, _constant(lambda values: not values)),
    Operator("LessThan", Operands.VALUE, _any(lambda v, o: bool(v < o.value))),
    Operator("LessThanOrEqual", Operands.VALUE, _any(lambda v, o: bool(v <= o.value))),
    Operator("GreaterThan", Operands.VALUE, _any(lambda v, o: bool(v > o.value))),
    Operator("GreaterThanOrEqual", Operands.VALUE, _any(lambda v, o: bool(v >= o.value))),
    Operator("Contains", Operands.VALUE, _any(lambda v, o: o.value in v)),
    Operator("StartsWith", Operands.VALUE, _any(lambda v, o: v.startswith(o.value))),
    Operator("EndsWith", Operands.VALUE, _any(lambda v, o: v.endswith(o.value))),
    Operator("IsTrue", Operands.NONE, _constant(lambda values: True in values)),
    Operator("IsFalse", Operands.NONE, _constant(lambda values: False in values)),
    Operator("In", Operands.VALUES, _any(lambda v, o: v in o.values)),
    Operator("NotIn", Operands.VALUES, _known_and_all(lambda v, o: v not in o.values)),
    Operator("Between", Operands.RANGE, _any(lambda v, o: bool(o.value <= v <= o.secondary))),
    Operator("Before", Operands.VALUE, _any(lambda v, o: bool(v < o.value))),
    Operator("After", Operands.VALUE, _any(lambda v, o: bool(v > o.value))),
    Operator("IsAnyOf", Operands.VALUES, _any(lambda v, o: v in o.values)),
    Operator(
        "IsNoneOf",
        Operands.VALUES,
        lambda o: lambda values: all(v not in o.values for v in values),
    ),
    Operator("OnOrBefore", Operands.VALUE, _any(lambda v, o: bool(v <= o.value))),
    Operator("OnOrAfter", Operands.VALUE, _any(lambda v, o: bool(v >= o.value))),
)

OPERATORS: Mapping[str, Operator] = {op.name: op for op in _OPERATORS}
