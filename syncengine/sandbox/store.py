"""The CRM data of one sandbox organisation: contacts with their nested items, the custom
fields it defined, and the id counters. Plain data with lookups; not locked itself (the
sandbox state's single lock guards every use)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type
from syncengine.sandbox.api_errors import NotFoundError
from syncengine.sandbox.records import CustomFieldDef, iter_items

CUSTOM_FIELD_OWNERS = ("Contact", "ContactIndividual")
_AUDIT_PAIRS = (("createDateTimeUtc", "createdByUser"), ("modifiedDateTimeUtc", "modifiedByUser"))


class ContactStore:
    def __init__(self) -> None:
        self._contacts: dict[int, Record] = {}
        self.custom_fields: dict[str, list[CustomFieldDef]] = {s: [] for s in CUSTOM_FIELD_OWNERS}
        self._next_id: dict[str, int] = {}

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
        self.custom_fields = {s: list(custom_fields.get(s, ())) for s in CUSTOM_FIELD_OWNERS}

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

    def delete(self, contact_id: int) -> None:
        self._contacts.pop(contact_id, None)

    def all(self) -> list[Record]:
        return sorted(self._contacts.values(), key=lambda c: c["id"])

    def live(self) -> Iterator[Record]:
        """Contacts not merged away (a merged record answers GET but is gone from lists)."""
        return (c for c in self.all() if c.get("mergedIntoContactId") is None)

    def locate(self, shape: str, item_id: int) -> tuple[Record, Record]:
        """(contact, item) for a nested item id of ``shape``, or 404."""
        for contact in self._contacts.values():
            for item_shape, item in iter_items(contact):
                if item_shape == shape and item["id"] == item_id:
                    return contact, item
        raise NotFoundError()

    def email_owner(self, email: str, *, other_than: int) -> int | None:
        """The id of another live contact holding ``email`` (case-insensitive), if any."""
        wanted = email.lower()
        for contact in self.live():
            if contact["id"] != other_than and wanted in emails_of(contact):
                return int(contact["id"])
        return None


def emails_of(contact: Record) -> dict[str, str]:
    """The contact's email-type method values: lower-cased (for matching) -> as written."""
    return {
        method["value"].lower(): method["value"]
        for individual in contact["contactIndividuals"]
        for method in individual["contactMethods"]
        if is_email_type(method.get("type")) and isinstance(method.get("value"), str)
    }
