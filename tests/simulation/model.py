"""What the simulation's people did, and what that allows each side to hold.

Per contact and simulated field: the base (the value both sides last agreed on, as the
simulation saw it), every value either side's people wrote since, and each side's last
write. The invariants follow from that alone, never from the engine's own records:

- nothing invented or cleared: a side holds the base or a value somebody wrote since;
- no lost update: when the sides agree again, a field only one side changed holds that
  side's last value; a field both changed holds one of their last values, and the engine
  recorded the decision (an open conflict, or an automatic one it audited);
- a push is a CRM-side write nobody on the platform may undo (it gives way to nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tests.simulation.script import FIELDS


class _NoRace(Enum):
    """No CRM+ edit raced the engine's GET and PUT (an enum member: a deep copy of a
    field's history keeps it the same object, as ``is`` needs)."""

    NONE = "none"


NO_RACE = _NoRace.NONE


class InvariantViolation(AssertionError):
    """The engine broke one of the simulation's invariants."""


@dataclass
class FieldHistory:
    base: Any
    written: list[Any] = field(default_factory=list)  # every value written since the base
    last: dict[str, Any] = field(default_factory=dict)  # side -> its last write
    pushed: bool = False  # a push wrote this field since the base
    # A CRM+ edit landed between the engine's GET and its PUT of the contact: what the
    # field held before it (the PUT, built from the GET, may write that back).
    race_before: Any = NO_RACE

    def allowed(self) -> list[Any]:
        return [self.base, *self.written]

    def changed_by(self) -> set[str]:
        """The sides whose last write differs from the base (a write back to the base
        value is no change, exactly as the three-way merge sees it)."""
        return {side for side, value in self.last.items() if value != self.base}

    def agree(self, value: Any) -> None:
        self.base = value
        self.written.clear()
        self.last.clear()
        self.pushed = False
        self.race_before = NO_RACE


@dataclass
class ContactModel:
    contact_id: int
    fields: dict[str, FieldHistory]
    # A contact whose values the simulation cannot predict field by field (a merge's
    # survivor): only convergence is checked.
    loose: bool = False
    removed: bool = False  # the platform removed it: the engine must leave it off
    archived: bool = False  # archived in CRM+: out of the bulk query's sight
    merged_into: int | None = None
    races_lost: int = 0  # CRM+ edits the engine's PUT overwrote in the GET-PUT window


@dataclass
class Model:
    contacts: dict[int, ContactModel] = field(default_factory=dict)
    # Platform records created on the platform, by key -> the contact id once linked.
    creates: dict[str, int | None] = field(default_factory=dict)
    crm_created: list[int] = field(default_factory=list)

    def track(self, contact_id: int, values: dict[str, Any], *, loose: bool = False) -> None:
        self.contacts[contact_id] = ContactModel(
            contact_id, {name: FieldHistory(values.get(name)) for name in FIELDS}, loose=loose
        )

    def wrote(self, contact_id: int, side: str, name: str, value: Any) -> None:
        model = self.contacts.get(contact_id)
        if model is None:
            return
        history = model.fields[name]
        history.written.append(value)
        history.last[side] = value
        if side == "push":
            history.pushed = True
            history.last.pop("platform", None)  # the push gives way to nothing
            history.last["crm"] = value
            history.last.pop("push")

    def live(self) -> list[ContactModel]:
        return [m for m in self.contacts.values() if not m.removed and m.merged_into is None]


def check_values(
    model: ContactModel,
    platform: dict[str, Any],
    crm: dict[str, Any],
    decided: set[str],
) -> None:
    """After any step: what each side holds is allowed; where the sides agree, the
    agreement is the right one (then it becomes the base)."""
    if model.loose:
        for name, history in model.fields.items():
            if platform.get(name) == crm.get(name):
                history.agree(crm.get(name))
        return
    for name, history in model.fields.items():
        mine, theirs = platform.get(name), crm.get(name)
        where = f"contact {model.contact_id} field {name}"
        for side, value in (("platform", mine), ("CRM+", theirs)):
            if value not in history.allowed():
                raise InvariantViolation(
                    f"{where}: {side} holds {value!r}, which nobody wrote (base "
                    f"{history.base!r}, written since: {history.written!r})"
                )
        if mine != theirs:
            continue
        if history.race_before is not NO_RACE and mine != history.last.get("crm"):
            # A CRM+ edit landed after the engine's GET and its PUT, built from the GET,
            # overwrote it (no If-Match, crmplus-api.md): counted, not a violation. The
            # rest is judged on what the engine saw of CRM+.
            model.races_lost += 1
            history.last["crm"] = history.race_before
        changed = history.changed_by()
        if changed == {"platform"} and mine != history.last["platform"]:
            raise InvariantViolation(
                f"{where}: lost update: the platform wrote {history.last['platform']!r}, "
                f"both sides now hold {mine!r}"
            )
        if changed == {"crm"} and mine != history.last["crm"]:
            raise InvariantViolation(
                f"{where}: lost update: CRM+ wrote {history.last['crm']!r}, both sides "
                f"now hold {mine!r}"
            )
        if not changed and mine != history.base:
            raise InvariantViolation(
                f"{where}: neither side changed it since {history.base!r}; both now hold {mine!r}"
            )
        if changed == {"platform", "crm"}:
            last = history.last
            if mine not in (last["platform"], last["crm"]):
                raise InvariantViolation(
                    f"{where}: both sides changed it ({last!r}); both now hold {mine!r}"
                )
            if last["platform"] != last["crm"] and name not in decided and not history.pushed:
                raise InvariantViolation(
                    f"{where}: both sides changed it ({last!r}) and the engine recorded no "
                    "decision (no open or automatic conflict)"
                )
        history.agree(mine)
