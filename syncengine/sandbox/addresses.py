"""The ContactAddress writes: create, update, archive and unarchive, free of HTTP.

Shapes, from the public clients of the API (docs/sandbox.md names them): the write body is
the ContactAddress shape plus ``setAsPrimary``; a create adds ``contactId``; both answer
the address. Archive and Unarchive take no body and answer 200 with an empty one.

The primary address, one per contact that has live addresses:
- it moves only by promotion (``setAsPrimary: true``, or ``isPrimary: true`` echoed from
  a GET); the former primary stays, as a non-primary address; an omitted or false flag
  never demotes it (``writes.pinned_primary``), under either PUT semantics;
- an address added to a contact without a primary becomes the primary;
- an archived address leaves ByContact and the contact's ``address``, and cannot be made
  primary (422 ``ArchivedAddress``); the primary itself cannot be archived (422
  ``PrimaryAddress``): promote another first, so a contact is never left without one;
- unarchiving restores a non-primary address (the primary if the contact has none).
Every write goes through ``CrmOperations.write``: checked on a copy, then committed,
with the contact and each changed address stamped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import CONTACT_ADDRESS, SHAPES, Field, Kind
from syncengine.errors import FieldProblem
from syncengine.sandbox.api_errors import INVALID_REQUEST, BadRequestError, NotFoundError
from syncengine.sandbox.operations import ADDRESS_ROOT, CrmOperations
from syncengine.sandbox.records import ADDRESSES, ARCHIVED_ADDRESSES, primary_address
from syncengine.sandbox.render import render_address
from syncengine.sandbox.state import SandboxState
from syncengine.sandbox.typecheck import ShapeTable, check_types
from syncengine.sandbox.writes import (
    WriteContext,
    add_address,
    apply_item,
    pinned_primary,
    promotes,
    settle_primary,
    stamp_modified,
)

_WRITTEN_ADDRESS = {**CONTACT_ADDRESS, "setAsPrimary": Field(Kind.BOOL)}
WRITE_SHAPES: ShapeTable = {
    **SHAPES,
    "ContactAddress": _WRITTEN_ADDRESS,
    "NewContactAddress": {**_WRITTEN_ADDRESS, "contactId": Field(Kind.INT)},
}


class AddressOperations:
    def __init__(self, ops: CrmOperations, state: SandboxState) -> None:
        self._ops = ops
        self._state = state

    def create(self, body: Any) -> Record:
        """POST /api/ContactAddress: a new address on the contact ``contactId`` names."""
        checked = check_types(body, "NewContactAddress", WRITE_SHAPES, ADDRESS_ROOT)
        contact_id = checked.get("contactId")
        if contact_id is None:
            required = {f"{ADDRESS_ROOT}.contactId": ["The ContactId field is required."]}
            raise BadRequestError(INVALID_REQUEST, required)

        def change(contact: Record, ctx: WriteContext) -> Record:
            primary = promotes(checked) or primary_address(contact) is None
            return add_address(contact, checked, ctx, ADDRESS_ROOT, primary=primary)

        with self._state.lock:
            return render_address(self._ops.write_contact(contact_id, change), contact_id)

    def update(self, address_id: int, body: Any) -> Record:
        """PUT /api/ContactAddress/{id}, under the sandbox's PUT semantics."""
        checked = check_types(body, "ContactAddress", WRITE_SHAPES, ADDRESS_ROOT)

        def change(contact: Record, ctx: WriteContext) -> Record:
            address, archived = _find(contact, address_id)
            if archived and promotes(checked):
                ctx.problems.append(
                    FieldProblem(
                        f"{ADDRESS_ROOT}.setAsPrimary",
                        "An archived address cannot be the primary address; unarchive it first.",
                        "ArchivedAddress",
                    )
                )
            wanted = (
                {**checked, "isPrimary": False} if archived else pinned_primary(address, checked)
            )
            if apply_item("ContactAddress", address, wanted, ctx, ADDRESS_ROOT):
                stamp_modified(address, ctx)
            settle_primary(contact, address, ctx)
            return address

        return self._on_contact_of(address_id, change)

    def set_archived(self, address_id: int, archived: bool) -> None:
        """PUT /api/ContactAddress/Archive/{id} or /Unarchive/{id}; repeating one is harmless."""

        def change(contact: Record, ctx: WriteContext) -> Record:
            address, was_archived = _find(contact, address_id)
            if was_archived == archived:
                return address
            if archived and address["isPrimary"]:
                ctx.problems.append(
                    FieldProblem(
                        f"{ADDRESS_ROOT}.isPrimary",
                        "The primary address cannot be archived; make another address "
                        "primary first (setAsPrimary).",
                        "PrimaryAddress",
                    )
                )
                return address
            source, target = (
                (ADDRESSES, ARCHIVED_ADDRESSES) if archived else (ARCHIVED_ADDRESSES, ADDRESSES)
            )
            contact[source] = [a for a in contact[source] if a is not address]
            contact[target].append(address)
            address["isPrimary"] = not archived and primary_address(contact) is None
            address["canBePrimary"] = not archived and not address["isPrimary"]
            stamp_modified(address, ctx)
            return address

        self._on_contact_of(address_id, change)

    def _on_contact_of(
        self, address_id: int, change: Callable[[Record, WriteContext], Record]
    ) -> Record:
        with self._state.lock:
            contact, _ = self._state.store.locate("ContactAddress", address_id)
            return render_address(self._ops.write_contact(contact["id"], change), contact["id"])


def _find(contact: Record, address_id: int) -> tuple[Record, bool]:
    """The contact's address ``address_id`` and whether it is archived."""
    for key in (ADDRESSES, ARCHIVED_ADDRESSES):
        for address in contact[key]:
            if address["id"] == address_id:
                return address, key == ARCHIVED_ADDRESSES
    raise NotFoundError()
