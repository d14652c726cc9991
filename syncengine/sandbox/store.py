"""The CRM data of one sandbox organisation: contacts with their nested items, the custom
fields it defined, the id counters and three indexes. Plain data with lookups; not
locked itself (the sandbox state's single lock guards every use).

Stored contacts change only through ``put``, ``delete`` and ``load`` (writers put a new
version, never edit the stored one in place): that is what keeps the three reverse
indexes exact, emails -> owning contacts, reference ids -> holding contacts and nested
item ids -> their contact, which spare every lookup (the 409 check, Find, the lookups by
reference, the import matcher, the sub-resource routes) a scan of every contact.
Tests hold each index to a scan of every contact (tests/sandbox/test_indexes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.api_errors import NotFoundError
from syncengine.sandbox.email_index import email_index, emails_of, is_live
from syncengine.sandbox.records import CustomFieldDef, iter_items
from syncengine.sandbox.reverse_index import ReverseIndex

CUSTOM_FIELD_OWNERS = ("Contact", "ContactIndividual")
_AUDIT_PAIRS = (("createDateTimeUtc", "createdByUser"), ("modifiedDateTimeUtc", "modifiedByUser"))


class ContactStore:
    def __init__(self) -> None:
        self._contacts: dict[int, Record] = {}
        self.custom_fields: dict[str, list[CustomFieldDef]] = {s: [] for s in CUSTOM_FIELD_OWNERS}
        self._next_id: dict[str, int] = {}
        self._emails = email_index()
        self._references: ReverseIndex[str] = ReverseIndex(reference_ids)
        self._items: ReverseIndex[tuple[str, int]] = ReverseIndex(_nested_items)

    def load(
        self,
        contacts: Sequence[Record],
        custom_fields: Mapping[str, Sequence[CustomFieldDef]],
        *,
        stamp: Callable[[], int],
        user: str,
    ) -> None:
        """Replace everything. Items without an id get one; items without audit stamps get
        one ``stamp()``, taken only if needed (each stamp taken shows in the next write's)."""
        self._next_id = {}
        for contact in contacts:
            for shape, item in iter_items(contact):
                if isinstance(item.get("id"), int):
                    self._next_id[shape] = max(self._next_id.get(shape, 1), item["id"] + 1)
        load_stamp = 0
        for contact in contacts:
            for shape, item in iter_items(contact):
                if item.get("id") is None:
                    item["id"] = self.new_id(shape)
                for when, who in _AUDIT_PAIRS:
                    if item.get(when) is None:
                        load_stamp = load_stamp or stamp()
                        item[when], item[who] = load_stamp, item.get(who) or user
        self._contacts = {c["id"]: c for c in sorted(contacts, key=lambda c: c["id"])}
        for index in self._indexes():
            index.rebuild(self._contacts.values())
        self.custom_fields = {s: list(custom_fields.get(s, ())) for s in CUSTOM_FIELD_OWNERS}

    def _indexes(self) -> tuple[ReverseIndex[Any], ...]:
        return self._emails, self._references, self._items

    def new_id(self, shape: str) -> int:
        next_id = self._next_id.get(shape, 1)
        self._next_id[shape] = next_id + 1
        return next_id

    def get(self, contact_id: int) -> Record:
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise NotFoundError()
        return contact

    def put(self, contact: Record) -> None:
        self._contacts[contact["id"]] = contact
        for index in self._indexes():
            index.replace(contact["id"], contact)

    def delete(self, contact_id: int) -> None:
        self._contacts.pop(contact_id, None)
        for index in self._indexes():
            index.replace(contact_id, None)

    def all(self) -> list[Record]:
        return sorted(self._contacts.values(), key=lambda c: c["id"])

    def live(self) -> Iterator[Record]:
        """Contacts not merged away (a merged record answers GET but is gone from lists)."""
        return (c for c in self.all() if is_live(c))

    def locate(self, shape: str, item_id: int) -> tuple[Record, Record]:
        """(contact, item) for a nested item id of ``shape``, or 404."""
        for contact_id in self._items.owners((shape, item_id)):
            contact = self._contacts[contact_id]
            for item_shape, item in iter_items(contact):
                if item_shape == shape and item["id"] == item_id:
                    return contact, item
        raise NotFoundError()

    def email_owner(self, email: str, *, other_than: int) -> int | None:
        """The id of another live contact holding ``email`` (case-insensitive), if any;
        the lowest id when several do."""
        others = self._emails.owners(email.lower()) - {other_than}
        return min(others) if others else None

    def holding_email(self, email: str) -> list[Record]:
        """The live contacts holding ``email`` (case-insensitive) in an email-type method,
        lowest id first: what Find, ContactIndividual/Find and the import matcher look up."""
        return self._by_ids(self._emails.owners(email.lower()))

    def holding_reference(self, reference_id: str, source: str | None = None) -> list[Record]:
        """The live contacts holding a reference with this id, lowest id first; with
        ``source``, exactly the reference ``{"source": source, "id": reference_id}``."""
        holders = self._by_ids(self._references.owners(reference_id))
        if source is None:
            return holders
        wanted = {"source": source, "id": reference_id}
        return [c for c in holders if wanted in c["contactReferences"]]

    def _by_ids(self, contact_ids: Iterable[int]) -> list[Record]:
        return [self._contacts[contact_id] for contact_id in sorted(contact_ids)]

    def email_owners(self) -> dict[str, frozenset[int]]:
        """The email index as it stands (lower-cased email -> live contact ids)."""
        return self._emails.snapshot()

    def reference_owners(self) -> dict[str, frozenset[int]]:
        """The reference index as it stands (reference id -> live contact ids)."""
        return self._references.snapshot()

    def item_owners(self) -> dict[tuple[str, int], frozenset[int]]:
        """The item index as it stands ((shape, nested item id) -> contact ids)."""
        return self._items.snapshot()


def reference_ids(contact: Record) -> list[str]:
    """The ids of a live contact's references (a merged-away one holds none, as it is
    gone from Find). Only text ids: lookups compare with the text of a URL."""
    if not is_live(contact):
        return []
    return [
        ref["id"]
        for ref in contact["contactReferences"]
        if isinstance(ref, Mapping) and isinstance(ref.get("id"), str)
    ]


def _nested_items(contact: Record) -> list[tuple[str, int]]:
    return [(shape, item["id"]) for shape, item in iter_items(contact) if shape != "Contact"]


__all__ = ["CUSTOM_FIELD_OWNERS", "ContactStore", "emails_of", "reference_ids"]
