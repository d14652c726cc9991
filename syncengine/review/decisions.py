"""Deciding conflicts from the review page: one at a time or the suggestion in bulk.

A typed value is read like ``push --set`` reads one (JSON where it parses, else text) and
coerced to the field's type from the schema, so "2010" becomes the number a year field
holds and "yes" for a boolean is refused with the reason, before anything is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from syncengine.domain.fieldtypes import coerce_field
from syncengine.domain.paths import find_schema_field
from syncengine.domain.plan import parse_cli_value
from syncengine.domain.ports import (
    ConflictRecord,
    ConflictStatus,
    ConflictStore,
    suggested_side,
)
from syncengine.errors import (
    DatabaseUnavailable,
    PathError,
    StoreError,
    SyncEngineError,
    UsageError,
)

Choice = Literal["platform", "crm", "typed"]


class DecisionRefused(UsageError):
    """The decision cannot be taken as asked (a bad value, a conflict already decided)."""


@dataclass(frozen=True)
class Decider:
    """Who decides, from where: written on each conflict for the audit."""

    user: str
    origin: str  # "review 10.0.0.5"


def chosen_value(conflict: ConflictRecord, choice: str, typed: str) -> Any:
    """The value ``choice`` means for ``conflict``; ``DecisionRefused`` saying why not."""
    if choice == "platform":
        return conflict.platform
    if choice == "crm":
        return conflict.crm
    if choice != "typed":
        raise DecisionRefused(f"unknown choice {choice!r}: take platform, CRM+ or a value")
    return typed_value(conflict.path, typed)


def typed_value(path: str, raw: str) -> Any:
    """``raw`` as the value of the field at ``path``, coerced like ``push --set``."""
    try:
        value = parse_cli_value(raw, path)
    except UsageError as exc:  # JSON nested too deeply
        raise DecisionRefused(f"{path}: {exc}") from None
    try:
        found = find_schema_field(path)
    except PathError:
        return value  # not a path the schema can follow: as typed
    if found is None:
        return value  # a key the schema does not know: kept as typed
    _shape, _name, schema = found
    try:
        return coerce_field(path, schema, value)
    except SyncEngineError as exc:
        raise DecisionRefused(f"{path}: {exc}") from None


def decide(
    conflicts: ConflictStore, conflict_id: int, value: Any, decider: Decider, at: datetime
) -> ConflictRecord:
    return conflicts.resolve(
        conflict_id, value, resolved_by=decider.user, at=at, resolved_from=decider.origin
    )


@dataclass
class BulkOutcome:
    decided: list[ConflictRecord] = field(default_factory=list)
    no_suggestion: list[int] = field(default_factory=list)
    not_open: list[int] = field(default_factory=list)

    def summary(self) -> str:
        words = [f"took the suggestion for {len(self.decided)} conflict(s)"]
        if self.no_suggestion:
            ids = ", ".join(f"#{n}" for n in self.no_suggestion)
            words.append(f"left {ids}: no suggestion (decide them one by one)")
        if self.not_open:
            ids = ", ".join(f"#{n}" for n in self.not_open)
            words.append(f"skipped {ids}: already decided")
        return "; ".join(words)


def take_suggestions(
    conflicts: ConflictStore, ids: Iterable[int], decider: Decider, at: datetime
) -> BulkOutcome:
    """Decide each open conflict of ``ids`` with its suggestion. A conflict the engine
    made no suggestion for (neither side, nothing) is left for a person; one already
    decided (by someone else meanwhile) keeps that decision."""
    outcome = BulkOutcome()
    for conflict_id in sorted(set(ids)):
        conflict = conflicts.get(conflict_id)
        if conflict is None or conflict.status is not ConflictStatus.OPEN:
            outcome.not_open.append(conflict_id)
            continue
        if suggested_side(conflict) == "other" and conflict.suggestion is None:
            outcome.no_suggestion.append(conflict_id)
            continue
        try:
            outcome.decided.append(decide(conflicts, conflict_id, conflict.suggestion, decider, at))
        except DatabaseUnavailable:
            raise
        except StoreError:
            outcome.not_open.append(conflict_id)  # decided by someone else in between
    return outcome
