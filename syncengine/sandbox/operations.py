"""What each CRM+ endpoint does to the sandbox state, free of HTTP.

Every write follows one path (``_write``): type-check the body (400), apply it to a deep
copy of the contact, stamp, then refuse with 422 (invalid values) or 409 (an email that
belongs to another contact) before anything is committed. Reads render stored records
into the live API's shapes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import SHAPES
from syncengine.sandbox.abbreviated import render_abbreviated
from syncengine.sandbox.api_errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ServerError,
    UnprocessableError,
)
from syncengine.sandbox.create import CREATE_SHAPES, split_create_body
from syncengine.sandbox.query import ContactQuery, parse_paging, parse_query
from syncengine.sandbox.query_parameters import QueryContext
from syncengine.sandbox.records import ADDRESSES, ARCHIVED
from syncengine.sandbox.render import (
    render_address,
    render_contact,
    render_individual,
    render_raw_contact,
)
from syncengine.sandbox.settings import PutSemantics, SandboxSettings
from syncengine.sandbox.state import SandboxState
from syncengine.sandbox.store import emails_of
from syncengine.sandbox.typecheck import check_types
from syncengine.sandbox.validation import Rules
from syncengine.sandbox.writes import (
    WriteContext,
    add_address,
    apply_item,
    new_item,
    stamp_modified,
)

# The action parameter names ASP.NET puts in front of modelState keys.
CONTACT_ROOT = "contact"
INDIVIDUAL_ROOT = "contactIndividual"
ADDRESS_ROOT = "contactAddress"

# What a merge carries from the merged-away contact to the survivor.
_MERGED_SETS = ("contactReferences", "tags", "organizationGroups")


class MergeMode(StrEnum):
    """What the merged-away contact answers afterwards (both are seen in the wild)."""

    POINTER = "pointer"  # GET answers the old record with mergedIntoContactId set
    GONE = "gone"  # 404, like any unknown id


class CrmOperations:
    def __init__(self, settings: SandboxSettings, state: SandboxState) -> None:
        self._settings = settings
        self._state = state
        self._store = state.store
        self._rules = Rules(settings.contact_types)

    # -- Contact -------------------------------------------------------------------------

    def get_contact(self, contact_id: int) -> Record:
        with self._state.lock:
            return render_contact(self._store.get(contact_id), self._state.view())

    def put_contact(self, contact_id: int, body: Any) -> Record:
        checked = check_types(body, "Contact", SHAPES, CONTACT_ROOT)
        return self._put_contact(
            contact_id, checked, self._settings.put_semantics, self._settings.api_user
        )

    def edit_as_ui(self, contact_id: int, changes: Any) -> Record:
        """A partial edit as a person in the CRM UI makes it: only what is given changes."""
        checked = check_types(changes, "Contact", SHAPES, CONTACT_ROOT)
        return self._put_contact(contact_id, checked, PutSemantics.PATCH, self._settings.ui_user)

    def create_contact(self, body: Any) -> Record:
        """POST /api/Contact: never de-duplicates; same type and value rules as a PUT."""
        request = split_create_body(check_types(body, "Contact", CREATE_SHAPES, CONTACT_ROOT))
        with self._state.lock:
            ctx = self._context(PutSemantics.REPLACE, self._settings.api_user)
            contact = new_item("Contact", ctx)
            apply_item("Contact", contact, request.contact, ctx, CONTACT_ROOT)
            for index, address in enumerate(request.addresses):
                where = f"{CONTACT_ROOT}.{ADDRESSES}[{index}]"
                add_address(contact, address, ctx, where, primary=index == request.primary_index)
            contact[ARCHIVED] = request.archived
            self._commit(contact, ctx, before=None)
            return render_contact(contact, self._state.view())

    def find_contact(
        self, *, email: str | None, reference_source: str | None, reference_id: str | None
    ) -> Record:
        """Exact lookup by email (case-insensitive) or by reference; the lowest id wins.
        Archived contacts are found (they still exist); merged-away ones are not."""
        with self._state.lock:
            found = self._find_candidates(email, reference_source, reference_id)
            if not found:
                raise NotFoundError()
            return render_contact(found[0], self._state.view())

    def _find_candidates(
        self, email: str | None, reference_source: str | None, reference_id: str | None
    ) -> list[Record]:
        """The stored contacts a Find matches, lowest id first: by email if given, else by
        reference (both parts). From the store's indexes: no request scans every contact."""
        if email is not None:
            return self._store.holding_email(email)
        if reference_source is not None and reference_id is not None:
            return self._store.holding_reference(reference_id, reference_source)
        raise BadRequestError("Find needs either email, or referenceSource and referenceId.")

    def query_contacts(
        self, body: Any, skip: str | None, take: str | None, *, abbreviated: bool = False
    ) -> Record:
        """Query/FullContact, or Query (``abbreviated``): the same filter, paging, envelope."""
        skip_n, take_n = parse_paging(skip, take)
        query: ContactQuery = parse_query(body, self.query_context())
        if skip_n > self._settings.max_skip:
            raise ServerError()  # integrators report 500s for large skips: page by keyset
        with self._state.lock:
            listed = self._store.all() if self._settings.merged_in_queries else self._store.live()
            found = query.run(iter(listed))
            view = self._state.view()
            render = render_abbreviated if abbreviated else partial(render_contact, view=view)
            page = [render(c) for c in found[skip_n : skip_n + take_n]]
            return {"list": page, "total": len(found)}

    def query_context(self) -> QueryContext:
        return QueryContext(self._state.clock.today(), self._settings.contact_types)

    def set_archived(self, contact_id: int, archived: bool) -> None:
        with self._state.lock:
            contact = copy.deepcopy(self._store.get(contact_id))
            contact[ARCHIVED] = archived
            stamp_modified(contact, self._context(PutSemantics.PATCH, self._settings.api_user))
            self._store.put(contact)

    # -- ContactIndividual ---------------------------------------------------------------

    def get_individual(self, individual_id: int) -> Record:
        with self._state.lock:
            contact, individual = self._store.locate("ContactIndividual", individual_id)
            return render_individual(individual, contact["id"], self._state.view())

    def put_individual(self, individual_id: int, body: Any) -> Record:
        checked = check_types(body, "ContactIndividual", SHAPES, INDIVIDUAL_ROOT)

        def change(contact: Record, ctx: WriteContext) -> Record:
            individual = _by_id(contact["contactIndividuals"], individual_id)
            if apply_item("ContactIndividual", individual, checked, ctx, INDIVIDUAL_ROOT):
                stamp_modified(individual, ctx)
            return individual

        with self._state.lock:
            contact, _ = self._store.locate("ContactIndividual", individual_id)
            individual = self.write_contact(contact["id"], change)
            return render_individual(individual, contact["id"], self._state.view())

    # -- ContactAddress ------------------------------------------------------------------

    def get_address(self, address_id: int) -> Record:
        with self._state.lock:
            contact, address = self._store.locate("ContactAddress", address_id)
            return render_address(address, contact["id"])

    def list_addresses(self, contact_id: int) -> list[Record]:
        with self._state.lock:
            contact = self._store.get(contact_id)
            return [render_address(a, contact_id) for a in contact[ADDRESSES]]

    # -- out-of-band changes (test hooks) --------------------------------------------------

    def merge(self, source_id: int, target_id: int, mode: MergeMode) -> None:
        """Merge ``source_id`` into ``target_id`` as the CRM UI does: the survivor gains the
        references, tags and groups; the merged-away record points at it or is gone."""
        if source_id == target_id:
            raise BadRequestError("A contact cannot be merged into itself.")
        with self._state.lock:
            ctx = self._context(PutSemantics.PATCH, self._settings.ui_user)
            source = copy.deepcopy(self._store.get(source_id))
            target = copy.deepcopy(self._store.get(target_id))
            for key in _MERGED_SETS:
                target[key] += [v for v in source[key] if v not in target[key]]
            stamp_modified(target, ctx)
            self._store.put(target)
            if mode is MergeMode.GONE:
                self._store.delete(source_id)
                return
            source["mergedIntoContactId"] = target_id
            source["contactReferences"] = []
            stamp_modified(source, ctx)
            self._store.put(source)

    def raw_contact(self, contact_id: int) -> Record:
        with self._state.lock:
            return render_raw_contact(self._store.get(contact_id), self._state.view())

    def raw_state(self) -> Record:
        """All data in the seed format: loading it back gives the same state."""
        with self._state.lock:
            view = self._state.view()
            return {
                "customFieldDefinitions": {
                    owner: [{"name": d.name, "displayName": d.display_name} for d in defs]
                    for owner, defs in self._store.custom_fields.items()
                },
                "customCollectionDefinitions": self._state.collections.to_json(),
                "contacts": [render_raw_contact(c, view) for c in self._store.all()],
            }

    # -- the one write path ----------------------------------------------------------------

    def _put_contact(
        self, contact_id: int, body: Record, semantics: PutSemantics, user: str
    ) -> Record:
        def change(contact: Record, ctx: WriteContext) -> Record:
            apply_item("Contact", contact, body, ctx, CONTACT_ROOT)
            return contact

        with self._state.lock:
            contact = self.write_contact(contact_id, change, semantics=semantics, user=user)
            return render_contact(contact, self._state.view())

    def write_contact(
        self,
        contact_id: int,
        change: Callable[[Record, WriteContext], Record],
        *,
        semantics: PutSemantics | None = None,
        user: str | None = None,
    ) -> Record:
        """Apply ``change`` to a copy of the contact and commit it; returns what ``change``
        returned. The contact itself is stamped on every write. The one write path: the
        modules beside this one (addresses, custom collections, imports) write through it
        too."""
        with self._state.lock:
            stored = self._store.get(contact_id)
            draft = copy.deepcopy(stored)
            ctx = self._context(
                semantics or self._settings.put_semantics, user or self._settings.api_user
            )
            result = change(draft, ctx)
            stamp_modified(draft, ctx)
            self._commit(draft, ctx, before=stored)
            return result

    def _commit(self, draft: Record, ctx: WriteContext, *, before: Record | None) -> None:
        if ctx.problems:
            raise UnprocessableError(ctx.problems)
        known = emails_of(before) if before is not None else {}
        for lowered, written in sorted(emails_of(draft).items()):
            owner = self._store.email_owner(lowered, other_than=draft["id"])
            if lowered not in known and owner is not None:
                raise ConflictError(
                    f"The email address '{written}' already belongs to another contact."
                )
        self._store.put(draft)

    def _context(self, semantics: PutSemantics, user: str) -> WriteContext:
        return WriteContext(
            semantics=semantics,
            stamp=self._state.clock.stamp(),
            user=user,
            new_id=self._store.new_id,
            custom_fields=self._store.custom_fields,
            rules=self._rules,
        )


def _by_id(items: list[Record], item_id: int) -> Record:
    found = next((item for item in items if item["id"] == item_id), None)
    if found is None:
        raise NotFoundError()
    return found
