"""Value rules (422): what is well-typed but still refused.

Run on each item a write touched, after the write was applied to it, so a rule that spans
two fields (an email-type method needs an email-shaped value) sees the final item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type
from syncengine.errors import FieldProblem

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_MONTH_FIELDS = {
    "Contact": ("anniversaryMonth",),
    "ContactIndividual": ("birthMonth",),
    "ContactAddress": ("startMonth", "endMonth"),
}
_DAY_FIELDS = {
    "Contact": ("anniversaryDay",),
    "ContactIndividual": ("birthDay",),
    "ContactAddress": ("startDay", "endDay"),
}


@dataclass(frozen=True)
class Rules:
    """The organisation-specific parts of validation."""

    contact_types: frozenset[str]


def validate_item(shape: str, item: Record, path: str, rules: Rules) -> list[FieldProblem]:
    """Every 422 problem of one item of ``shape`` (its nested items are checked on their own)."""
    problems: list[FieldProblem] = []
    for key in _MONTH_FIELDS.get(shape, ()):
        _check_range(item, key, 1, 12, path, problems)
    for key in _DAY_FIELDS.get(shape, ()):
        _check_range(item, key, 1, 31, path, problems)
    for rule in _RULES.get(shape, ()):
        problems.extend(rule(item, path, rules))
    return problems


def unknown_custom_field(path: str, name: object) -> FieldProblem:
    return FieldProblem(
        field=path,
        code="UnknownCustomField",
        message=f"The organisation has no custom field named {name!r}.",
    )


def _check_range(
    item: Record, key: str, low: int, high: int, path: str, problems: list[FieldProblem]
) -> None:
    value = item.get(key)
    if value is not None and not low <= value <= high:
        problems.append(
            FieldProblem(
                field=f"{path}.{key}",
                code="OutOfRange",
                message=f"{key} must be between {low} and {high}; got {value}.",
            )
        )


def _contact_rules(item: Record, path: str, rules: Rules) -> list[FieldProblem]:
    problems = []
    if not item.get("name"):
        problems.append(FieldProblem(f"{path}.name", "Name is required.", "Required"))
    if item.get("contactType") not in rules.contact_types:
        allowed = ", ".join(sorted(rules.contact_types))
        problems.append(
            FieldProblem(
                f"{path}.contactType",
                f"Unknown contact type {item.get('contactType')!r}; allowed: {allowed}.",
                "UnknownContactType",
            )
        )
    return problems


def _method_rules(item: Record, path: str, rules: Rules) -> list[FieldProblem]:
    value = item.get("value")
    if is_email_type(item.get("type")) and not (value and _EMAIL.fullmatch(value)):
        return [FieldProblem(f"{path}.value", f"{value!r} is not a valid email.", "InvalidEmail")]
    return []


def _reference_rules(item: Record, path: str, rules: Rules) -> list[FieldProblem]:
    return [
        FieldProblem(f"{path}.{key}", f"A reference needs a {key}.", "Required")
        for key in ("source", "id")
        if not item.get(key)
    ]


_Rule = Callable[[Record, str, Rules], Sequence[FieldProblem]]
_RULES: dict[str, tuple[_Rule, ...]] = {
    "Contact": (_contact_rules,),
    "ContactMethod": (_method_rules,),
    "ContactReference": (_reference_rules,),
}
