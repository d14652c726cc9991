"""How the sandbox stores CRM records, and how stored records are made and walked.

Stored records are plain dicts keyed like the GET shape, with four differences that make
writes simple and reads exact:
- a contact keeps EVERY live address under ``contactAddresses`` (the GET shape shows only
  the primary, as ``address``), its archived addresses apart under
  ``archivedContactAddresses`` (so no list, primary or contact write can reach them by
  mistake), and its archived flag under ``isArchived`` (never shown);
- timestamps are .NET ticks (ints), writable dates are ISO "YYYY-MM-DD" strings;
- custom field values are a ``{name: value}`` dict (the definitions belong to the org);
- derived keys (``address``, ``birthDate``, ``approximateAge``, the ``...Url``s,
  ``contactId`` of nested items) are not stored but computed when rendering.
Keys the schema does not know (brought by seed data) are stored and served back as they are.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncengine.domain.fieldtypes import parse_read_date
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, Field, Kind, shape_of
from syncengine.sandbox.timefmt import parse_timestamp

ADDRESSES = "contactAddresses"
ARCHIVED_ADDRESSES = "archivedContactAddresses"
ARCHIVED = "isArchived"
CUSTOM_FIELDS = "customFields"
INTERNAL_KEYS = frozenset({ADDRESSES, ARCHIVED_ADDRESSES, ARCHIVED})

CONTACT_URLS = {
    "contactGiftsUrl": "/api/Gift/ByContact/{id}",
    "contactPassthroughGiftsUrl": "/api/Gift/Passthrough/ByContact/{id}",
    "contactPlannedGiftsUrl": "/api/PlannedGift/ByContact/{id}",
    "contactRecurringGiftsUrl": "/api/RecurringGift/ByContact/{id}",
    "contactImportantNotesUrl": "/api/ContactNote/Important/ByContact/{id}",
    "contactNotesUrl": "/api/ContactNote/ByContact/{id}",
    "contactTagsUrl": "/api/ContactTag/ByContact/{id}",
    "contactRelationshipsUrl": "/api/Relationship/ByContact/{id}",
}

DERIVED: Mapping[str, frozenset[str]] = {
    "Contact": frozenset({"address", *CONTACT_URLS}),
    "ContactIndividual": frozenset({"contactId", "birthDate", "approximateAge"}),
    "ContactAddress": frozenset({"contactId"}),
}

# Arrays whose items carry a server id and their own audit stamps (individuals, methods).
OWNED_ARRAYS = frozenset(key for key, identity in ARRAY_IDENTITY.items() if identity == ("id",))

# What a brand-new contact shows for the read-only fields nobody writes.
_READ_ONLY_DEFAULTS: Mapping[str, Any] = {
    "giftAskAmount": "$0",
    "lifeToDateGiving": "$0",
    "yearToDateGiving": "$0",
    "lastGiftAmount": "$0",
    "lastGiftDate": "Unavailable",
    "customCollections": [],
}

_STORED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CustomFieldDef:
    """One custom field the organisation defined (listed on every record, set or not)."""

    name: str
    display_name: str


# Text fields the live API never serves as null: the reference ("state (code or free text
# or "")", "country (full name or "")") and the recorded response show an unknown state
# and country as "", while city and postal read null. Stored so, a new, cleared or
# seeded-null one reads as live ones do.
EMPTY_WHEN_UNSET: Mapping[str, frozenset[str]] = {
    "ContactAddress": frozenset({"state", "country"}),
}


def cleared_value(shape: str, key: str, field: Field) -> Any:
    """What a writable field of ``shape`` holds once cleared (omitted under replace
    semantics, sent as null, or never set)."""
    if key == CUSTOM_FIELDS:
        return {}
    if field.kind is Kind.ARRAY:
        return []
    if field.kind is Kind.BOOL:
        return False
    if key in EMPTY_WHEN_UNSET.get(shape, ()):
        return ""
    return None


def blank(shape: str) -> Record:
    """A stored record of ``shape`` with every field cleared (no id, no stamps yet)."""
    derived = DERIVED.get(shape, frozenset())
    record: Record = {}
    for key, field in shape_of(shape).items():
        if key in derived:
            continue
        if field.writable:
            record[key] = cleared_value(shape, key, field)
        else:
            default = False if field.kind is Kind.BOOL else None
            record[key] = copy.deepcopy(_READ_ONLY_DEFAULTS.get(key, default))
    if shape == "Contact":
        record[ADDRESSES] = []
        record[ARCHIVED_ADDRESSES] = []
        record[ARCHIVED] = False
    return record


def is_stored_date(value: Any) -> bool:
    return isinstance(value, str) and _STORED_DATE.fullmatch(value) is not None


def iter_items(contact: Record) -> Iterator[tuple[str, Record]]:
    """The contact and every nested item that has an id of its own, with its shape name."""
    yield "Contact", contact
    for individual in contact["contactIndividuals"]:
        yield "ContactIndividual", individual
        for method in individual["contactMethods"]:
            yield "ContactMethod", method
    for address in (*contact[ADDRESSES], *contact[ARCHIVED_ADDRESSES]):
        yield "ContactAddress", address


def from_wire(shape: str, wire: Mapping[str, Any]) -> Record:
    """The stored form of a record in the GET shape (or the raw-state shape that adds
    ``contactAddresses`` and ``isArchived``): how seed data enters the sandbox."""
    fields = shape_of(shape)
    record = blank(shape)
    for key, value in wire.items():
        if key in DERIVED.get(shape, frozenset()) or key in INTERNAL_KEYS:
            continue
        record[key] = _stored_value(shape, key, fields.get(key), value)
    if shape == "Contact":
        addresses = wire.get(ADDRESSES)
        if addresses is None:
            addresses = [wire["address"]] if wire.get("address") else []
        record[ADDRESSES] = [from_wire("ContactAddress", address) for address in addresses]
        record[ARCHIVED_ADDRESSES] = [
            # An archived address is never the primary, whatever the seed says.
            {**from_wire("ContactAddress", address), "isPrimary": False, "canBePrimary": False}
            for address in wire.get(ARCHIVED_ADDRESSES) or []
        ]
        record[ARCHIVED] = bool(wire.get(ARCHIVED, False))
    return record


def _stored_value(shape: str, key: str, field: Field | None, value: Any) -> Any:
    if field is None:
        return copy.deepcopy(value)
    if value is None:
        # A null array in captured data ("contactMethods": null) is stored empty; a null
        # address state as "".
        return cleared_value(shape, key, field) if field.writable else None
    if key == CUSTOM_FIELDS:
        # GET lists {name, value, displayName}; a create body maps name -> value.
        if isinstance(value, Mapping):
            return dict(value)
        return {item["name"]: item.get("value") for item in value if item.get("value") is not None}
    if field.kind is Kind.TIMESTAMP:
        return parse_timestamp(value)
    if field.kind is Kind.DATE and field.writable:
        day = parse_read_date(value)  # seeds may hold the read format ("9/4/1998") or ISO
        return None if day is None else day.isoformat()
    if field.kind is Kind.ARRAY and key in OWNED_ARRAYS and field.shape is not None:
        return [from_wire(field.shape, item) for item in value]
    return copy.deepcopy(value)


def primary_address(contact: Record) -> Record | None:
    """The stored address flagged primary (the Contact's ``address``), or None: the one
    lookup every reader of "the primary address" uses (GET, the Query parameters, the
    abbreviated list item), so they can never disagree."""
    return next((a for a in contact[ADDRESSES] if a.get("isPrimary")), None)


def primary_or_first(items: Sequence[Record]) -> Record | None:
    """The item flagged primary, else the first, else None: which individual (or method)
    stands for a contact where only one can (the list item, an import's merge)."""
    return next((i for i in items if i.get("isPrimary")), items[0] if items else None)
