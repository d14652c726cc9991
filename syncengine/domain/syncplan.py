"""Pure helpers of the two-way sync: turning merge output into writes, the direction
overrides of the merge policy, the create body, the bulk-change guard.

Nothing here does I/O; the engine (``syncengine.engine.sync``) calls these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from syncengine.domain.diff import FieldChange
from syncengine.domain.fieldmap import Direction, FieldMap
from syncengine.domain.fieldtypes import coerce_record
from syncengine.domain.paths import (
    REMOVE,
    Append,
    Item,
    Path,
    apply_change,
    find_schema_field,
    get_value,
    parse_path,
)
from syncengine.domain.plan import Change
from syncengine.domain.policy import FieldRule, MergePolicy, Rule
from syncengine.domain.ports import LocalRecord, Record
from syncengine.domain.records import copy_json
from syncengine.domain.schema import SHAPES, is_email_type
from syncengine.errors import LocalDataError, PathError

# -- the merge policy with the field directions ------------------------------------------


def directed_policy(policy: MergePolicy, fields: FieldMap) -> MergePolicy:
    """The user's policy, with each one-way field's both-sides changes decided by the
    direction: a CRM-to-platform field is the CRM's (its value wins, and platform edits
    are never sent), a platform-to-CRM field is the platform's. Only fields the field map
    names are managed at all."""
    overrides: list[FieldRule] = []
    for rule in fields.rules:
        if rule.direction is Direction.BOTH:
            continue
        winner = Rule.CRM if rule.direction is Direction.TO_PLATFORM else Rule.PLATFORM
        # Field-map rules cover everything below what they name; policy globs match whole
        # paths: spell the "below" out.
        for pattern in (rule.pattern, f"{rule.pattern}.*", f"{rule.pattern}[*"):
            overrides.append(FieldRule(pattern, winner))
    return replace(
        policy,
        rules=(*overrides, *policy.rules),
        managed=tuple(rule.pattern for rule in fields.rules),
    )


def flowing(
    changes: Iterable[FieldChange], fields: FieldMap, *, to_platform: bool
) -> list[FieldChange]:
    """The changes allowed to flow one way by the field map."""
    allowed = fields.flows_to_platform if to_platform else fields.flows_to_crm
    return [c for c in changes if allowed(c.path)]


# -- merge output -> safe-update changes -----------------------------------------------


def to_push_changes(changes: Iterable[FieldChange]) -> list[Change]:
    """FieldChanges (relative to the CRM record) as change-set entries for the safe update:
    a set stays a set, an added item is appended by value, a removed item is removed."""
    out: list[Change] = []
    for change in changes:
        if change.kind == "set":
            out.append(Change(change.path, change.new))
        elif change.kind == "add":
            path = parse_path(change.path)
            last = path.last
            if not isinstance(last, Item | Append):
                raise PathError(change.path, "an added item must be named as an array item")
            out.append(Change(path.parent.append(last.name).render(), _new_item(path, change.new)))
        else:
            out.append(Change(change.path, REMOVE))
    return out


def _new_item(path: Path, item: Any) -> Any:
    """An item as it is added to CRM+: only the fields a client may write. Read-only ones
    (audit stamps copied from another record, say) would be replaced by the server, and
    the write's verification would then find them "not as meant"."""
    found = find_schema_field(path)
    if found is not None and found[2].shape and isinstance(item, Mapping):
        return _writable_item(found[2].shape, item)
    return _without_id(item)


def _without_id(item: Any) -> Any:
    """An item added to CRM+ gets its ids from CRM+: any id it carries (one the platform
    made up, one of another contact's items, say of a contact merged away) is not CRM+'s
    for this contact and would be refused or, worse, hit another record. Nested items
    (an added individual's contact methods) lose theirs too."""
    if isinstance(item, Mapping):
        return {k: _without_id(v) for k, v in item.items() if k not in _ISSUED_IDS}
    if isinstance(item, list):
        return [_without_id(v) for v in item]
    return item


# Keys CRM+ issues for an item and its parent link; never sent for a new item.
_ISSUED_IDS = frozenset({"id", "contactId"})


# -- the platform's record -------------------------------------------------------------


def platform_view(local: LocalRecord, reference: Record) -> Record:
    """The platform's version of the contact in the Contact shape.

    A document platform gives it as is. A column platform gives leaf values by path:
    they are laid over ``reference`` (the merge base, or the CRM record on a first sync),
    so fields it does not hold read as unchanged, and selectors such as
    ``[isPrimary=true]`` resolve on that record.
    """
    if local.leaves is None:
        return copy_json(local.record)
    view = copy_json(reference)
    for path, value in local.leaves.items():
        try:
            view = apply_change(view, path, value)
        except PathError as exc:
            raise LocalDataError(f"platform record {local.key}", f"{path}: {exc.problem}") from exc
    return view


# -- creating a contact from a platform record -----------------------------------------

_CREATE_DROPPED = ("address", "customFields", "contactReferences", "id")


def create_body(record: Record, reference_source: str, key: str) -> Record:
    """The ``POST /api/Contact`` body for a new platform record, in the create-only shape:
    ``contactAddresses[]`` with ``stateCode``/``countryCode``, ``customFields`` as a map,
    ``referenceSource``/``referenceId`` so that a create whose answer was lost is found
    again by reference and never duplicated."""
    clean = coerce_record("Contact", record)
    if not clean.get("name"):
        raise LocalDataError(f"new platform record {key}", "a new contact needs a 'name'")
    if not clean.get("contactType"):
        raise LocalDataError(f"new platform record {key}", "a new contact needs a 'contactType'")
    writable = SHAPES["Contact"]
    body: Record = {
        k: v
        for k, v in clean.items()
        if k not in _CREATE_DROPPED and (k not in writable or writable[k].writable)
    }
    body["contactIndividuals"] = [
        _writable_item("ContactIndividual", person)
        for person in clean.get("contactIndividuals") or []
    ]
    address = clean.get("address")
    if isinstance(address, Mapping):
        entry = _writable_item("ContactAddress", address)
        entry["stateCode"] = entry.pop("state", None)
        entry["countryCode"] = entry.pop("country", None)
        entry["isPrimary"] = True
        body["contactAddresses"] = [entry]
    custom = {
        f["name"]: f.get("value")
        for f in clean.get("customFields") or []
        if isinstance(f, Mapping) and f.get("value") is not None
    }
    if custom:
        body["customFields"] = custom
    references = [r for r in clean.get("contactReferences") or [] if isinstance(r, Mapping)]
    body["contactReferences"] = [
        *references,
        *(
            []
            if any(
                r.get("source") == reference_source and str(r.get("id")) == key for r in references
            )
            else [{"source": reference_source, "id": key}]
        ),
    ]
    body["referenceSource"] = reference_source
    body["referenceId"] = key
    return body


def _writable_item(shape: str, item: Mapping[str, Any]) -> Record:
    fields = SHAPES[shape]
    out: Record = {}
    for name, value in item.items():
        spec = fields.get(name)
        if name == "id" or (spec is not None and not spec.writable):
            continue
        if name == "contactMethods":
            value = [_writable_item("ContactMethod", m) for m in value or []]
        out[name] = value
    return out


def primary_email(record: Record) -> str | None:
    """The email a new platform record is looked up by: the primary individual's first
    email-type method (or any individual's, when none is marked primary)."""
    people = [p for p in record.get("contactIndividuals") or [] if isinstance(p, Mapping)]
    people.sort(key=lambda p: not p.get("isPrimary"))
    for person in people:
        for method in person.get("contactMethods") or []:
            if isinstance(method, Mapping) and is_email_type(method.get("type")):
                value = str(method.get("value") or "").strip()
                if value:
                    return value
    return None


def email_paths(changes: Iterable[Change], record: Record) -> list[str]:
    """The changed paths that write an email value (a 409 is about one of them)."""
    found: list[str] = []
    for change in changes:
        path = parse_path(change.path)
        if path.last.name != "value" or not path.segments[:-1]:
            continue
        try:
            method = get_value(record, path.parent)
        except PathError:
            continue
        if isinstance(method, Mapping) and is_email_type(method.get("type")):
            found.append(change.path)
    return found


# -- the bulk-change guard -------------------------------------------------------------

_SELECTOR = re.compile(r"\[[^\]]*\]")


def field_family(path: str) -> str:
    """A path with its item selectors blanked: every contact's ``contactIndividuals[id=2]
    .lastName`` and ``contactIndividuals[id=7].lastName`` count as one field."""
    return _SELECTOR.sub("[]", path)


@dataclass
class GuardVerdict:
    stop: bool
    contacts_changing: int
    contacts_total: int
    worst_field: str | None = None
    worst_field_count: int = 0
    reasons: list[str] = field(default_factory=list)


def bulk_guard(
    planned: Mapping[int, Sequence[str]],
    total_contacts: int,
    *,
    max_contact_share: float,
    max_field_share: float,
    min_contacts: int,
) -> GuardVerdict:
    """Would this run change more than a sane share of the contacts, or of one field's
    values? (After a bad import, a data manager wants the run stopped before any write.)

    ``planned``: contact id -> the paths the run would change on it (either direction).
    Small organisations (fewer than ``min_contacts``) are never stopped: a share of
    three contacts says nothing.
    """
    changing = sum(1 for paths in planned.values() if paths)
    families: Counter[str] = Counter()
    for paths in planned.values():
        families.update({field_family(p) for p in paths})
    top = families.most_common(1)
    worst, worst_count = top[0] if top else (None, 0)
    verdict = GuardVerdict(False, changing, total_contacts, worst, worst_count)
    if total_contacts < min_contacts or total_contacts == 0:
        return verdict
    if changing / total_contacts > max_contact_share:
        verdict.reasons.append(
            f"{changing} of {total_contacts} contacts would change "
            f"(more than {max_contact_share:.0%})"
        )
    if worst is not None and worst_count / total_contacts > max_field_share:
        verdict.reasons.append(
            f"field {worst} would change on {worst_count} of {total_contacts} contacts "
            f"(more than {max_field_share:.0%})"
        )
    verdict.stop = bool(verdict.reasons)
    return verdict
