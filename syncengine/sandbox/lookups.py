"""The read-only lookups clients call beside the contact CRUD, free of HTTP.

By reference (``/api/Contact/{source}/{id}``, ``/api/Contact/ByReference/{id}``), the
contact search, the individual lookups (``ContactIndividual/Find``, ``ByContact``), the
contact types and the organisation record. Lookups see what ``Contact/Find`` sees:
archived contacts are found (they exist), merged-away ones are not; the search, a list,
leaves archived contacts out as ``Query/FullContact`` does. See docs/sandbox.md for where
each shape comes from.
"""

from __future__ import annotations

from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.abbreviated import render_abbreviated
from syncengine.sandbox.api_errors import BadRequestError, NotFoundError
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.query import parse_paging
from syncengine.sandbox.records import ARCHIVED
from syncengine.sandbox.render import render_contact, render_individual
from syncengine.sandbox.search import parse_search
from syncengine.sandbox.settings import BUILTIN_CONTACT_TYPES, SandboxSettings
from syncengine.sandbox.state import SandboxState
from syncengine.sandbox.store import emails_of

# The org-defined types are subtypes of Organization in CRM+ (a church, a school...).
SUBTYPE_PARENT = "Organization"
ORGANIZATION_ID = 1
ORGANIZATION_NAME = "Sandbox Organization"


class ContactLookups:
    def __init__(self, ops: CrmOperations, settings: SandboxSettings, state: SandboxState) -> None:
        self._ops = ops
        self._settings = settings
        self._state = state
        self._store = state.store

    def by_reference(self, source: str, reference_id: str) -> Record:
        """The contact holding exactly this reference: ``Find`` by reference, in the path."""
        return self._ops.find_contact(
            email=None, reference_source=source, reference_id=reference_id
        )

    def by_reference_id(self, reference_id: str) -> Record:
        """The contact holding a reference with this id, whatever its source. Several
        contacts may (one per source): the lowest contact id wins, as in ``Find``, so a
        client that cares which source answered must ask ``/{source}/{id}``."""
        with self._state.lock:
            found = self._store.holding_reference(reference_id)
            if not found:
                raise NotFoundError()
            return render_contact(found[0], self._state.view())

    def search(self, body: Any, skip: str | None, take: str | None) -> Record:
        skip_n, take_n = parse_paging(skip, take)
        search = parse_search(body)
        with self._state.lock:
            found = [c for c in self._store.live() if not c[ARCHIVED] and search.matches(c)]
            page = found[skip_n : skip_n + take_n]
            return {"list": [render_abbreviated(c) for c in page], "total": len(found)}

    def individual_by_email(self, email: str | None) -> Record:
        """The individual owning an email-type method with this value (case-insensitive):
        in the lowest contact id, then the lowest individual id, when several hold it."""
        if not email:
            raise BadRequestError("Find needs an email.")
        lowered = email.lower()
        with self._state.lock:
            for contact in self._store.holding_email(lowered):
                owners = [i for i in contact["contactIndividuals"] if _owns(i, lowered)]
                owner = min(owners, key=lambda i: int(i["id"]))
                return render_individual(owner, contact["id"], self._state.view())
            raise NotFoundError()

    def individuals_of(self, contact_id: int) -> list[Record]:
        """Every individual of a contact, as a bare array (404 for an unknown contact)."""
        with self._state.lock:
            contact = self._store.get(contact_id)
            view = self._state.view()
            return [render_individual(i, contact_id, view) for i in contact["contactIndividuals"]]

    def contact_types(self) -> list[Record]:
        """What a write may use as ``contactType``, as ``[{parentType, type}]``."""
        builtin = [{"parentType": t, "type": t} for t in BUILTIN_CONTACT_TYPES]
        subtypes = [
            {"parentType": SUBTYPE_PARENT, "type": t}
            for t in self._settings.contact_subtypes
            if t not in BUILTIN_CONTACT_TYPES
        ]
        return builtin + subtypes

    def organizations(self) -> list[Record]:
        """The organisations the key's user belongs to: this sandbox's one."""
        return [
            {
                "id": ORGANIZATION_ID,
                "organizationUserId": ORGANIZATION_ID,
                "name": ORGANIZATION_NAME,
                "timeZone": "UTC",
                "culture": "en-US",
                "isAdmin": False,
            }
        ]


def _owns(individual: Record, lowered: str) -> bool:
    # The same reading of "an email" as the contact lookups: email-type methods only.
    return lowered in emails_of({"contactIndividuals": [individual]})
