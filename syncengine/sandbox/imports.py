"""Contact imports: transactions accepted now, matched and applied later.

What CRM+ documents (docs.virtuous.org, "Transactions" and "Create a Contact"): a
transaction is held (the UI's "Imports"), then a nightly batch matches it against the
existing contacts and merges it into the match, or creates a new contact. The answer to
the POST carries no id: the contact does not exist yet.

The sandbox's deterministic version:
- accepted transactions are queued with a due time ``import_delay_seconds`` after
  acceptance on the sandbox clock (default a day); every later API request first applies
  the due ones, in acceptance order; the test hook applies them all at once;
- matching: by reference (``referenceSource`` + ``referenceId``, both given), then by
  email (case-insensitive), among live contacts, archived ones included (as Find); the
  lowest id wins. The live matcher also weighs names, phones and addresses: the sandbox
  does not, so a transaction with neither a known reference nor a known email creates;
- a match is updated as an import merges: given values overwrite (an empty one never
  clears), the email and phone are added to the matched individual when new (never made
  primary), the address is added when its ``address1`` is new (primary only if the
  contact had no address), tags, the reference and custom collections are added;
- no match: a new contact is created through the ``POST /api/Contact`` path;
- a transaction that cannot be applied fails whole and changes nothing: its entry keeps
  the refusal (an email that belongs to ANOTHER contact than the one matched by
  reference is refused as a PUT's is, 409, so imports never break email ownership).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type
from syncengine.sandbox.api_errors import ApiError
from syncengine.sandbox.collection_defs import COLLECTIONS, CollectionBook
from syncengine.sandbox.custom_collections import new_instance
from syncengine.sandbox.import_body import (
    TRANSACTION_ROOT,
    OrgRules,
    address_of,
    check_batch,
    check_transaction,
    create_body,
    individual_fields,
    methods_of,
    reference_of,
    split_tags,
)
from syncengine.sandbox.import_queue import ImportStatus, QueuedImport
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.records import ADDRESSES, primary_or_first
from syncengine.sandbox.settings import PutSemantics, SandboxSettings
from syncengine.sandbox.state import SandboxState
from syncengine.sandbox.timefmt import TICKS_PER_SECOND
from syncengine.sandbox.validation import Rules
from syncengine.sandbox.writes import WriteContext, add_address, apply_item

Change = Callable[[Record, WriteContext], Record]


class ImportOperations:
    def __init__(self, ops: CrmOperations, state: SandboxState, settings: SandboxSettings) -> None:
        self._ops = ops
        self._state = state
        self._delay = round(settings.import_delay_seconds * TICKS_PER_SECOND)
        self._rules = Rules(settings.contact_types)
        self._user = settings.api_user

    # -- accepting ---------------------------------------------------------------------------

    def accept_transaction(self, body: Any) -> None:
        """POST /api/Contact/Transaction: checked now, queued, applied when due."""
        with self._state.lock:
            self._queue([check_transaction(body, self._org())])

    def accept_batch(self, body: Any) -> None:
        """POST /api/Contact/Batch: all transactions are checked before any is queued."""
        with self._state.lock:
            self._queue(check_batch(body, self._org()))

    # -- applying ----------------------------------------------------------------------------

    def apply_due(self) -> list[QueuedImport]:
        """Apply the transactions whose delay has passed on the sandbox clock."""
        with self._state.lock:
            return self._apply(self._state.imports.pending(due_by=self._state.clock.ticks_now()))

    def apply_all(self) -> list[QueuedImport]:
        """Apply every pending transaction now (the test hook: "run the import")."""
        with self._state.lock:
            return self._apply(self._state.imports.pending())

    def entries(self) -> list[QueuedImport]:
        with self._state.lock:
            return list(self._state.imports.entries)

    def _queue(self, transactions: list[Record]) -> None:
        accepted = self._state.clock.ticks_now()
        for transaction in transactions:
            self._state.imports.add(transaction, accepted=accepted, due=accepted + self._delay)

    def _apply(self, due: list[QueuedImport]) -> list[QueuedImport]:
        for entry in due:
            try:
                self._apply_one(entry)
            except ApiError as refused:
                entry.status, entry.error = ImportStatus.FAILED, refused.body()
        return due

    def _apply_one(self, entry: QueuedImport) -> None:
        matched_by, contact_id = self._match(entry.body)
        if contact_id is None:
            created = self._ops.create_contact(create_body(entry.body))
            contact_id = int(created["id"])
            entry.status = ImportStatus.CREATED
            if entry.body.get("customObjects"):
                self._ops.write_contact(contact_id, self._collections_only(entry.body))
        else:
            self._ops.write_contact(
                contact_id, self._merge(entry.body), semantics=PutSemantics.PATCH, user=self._user
            )
            entry.status = ImportStatus.UPDATED
        entry.contact_id, entry.matched_by = contact_id, matched_by

    def _match(self, body: Mapping[str, Any]) -> tuple[str | None, int | None]:
        """(how, contact id) of the contact the transaction matches: by reference, then by
        email; the lowest id wins, as in Find (the same index lookups, no scan)."""
        reference, email = reference_of(body), body.get("email") or ""
        found: list[tuple[str, list[Record]]] = []
        if reference is not None:
            source, reference_id = reference["source"], reference["id"]
            found.append(("reference", self._state.store.holding_reference(reference_id, source)))
        if email:
            found.append(("email", self._state.store.holding_email(email)))
        for how, contacts in found:
            if contacts:
                return how, int(contacts[0]["id"])
        return None, None

    def _merge(self, body: Mapping[str, Any]) -> Change:
        """The change a matched transaction makes (applied under PATCH semantics)."""

        def change(contact: Record, ctx: WriteContext) -> Record:
            apply_item("Contact", contact, _contact_patch(contact, body), ctx, TRANSACTION_ROOT)
            address = address_of(body)
            if address is not None and not _has_address(contact, address["address1"]):
                add_address(contact, address, ctx, TRANSACTION_ROOT, primary=not contact[ADDRESSES])
            _add_collections(contact, body, self._state.collections)
            return contact

        return change

    def _collections_only(self, body: Mapping[str, Any]) -> Change:
        def change(contact: Record, ctx: WriteContext) -> Record:
            _add_collections(contact, body, self._state.collections)
            return contact

        return change

    def _org(self) -> OrgRules:
        return OrgRules(
            self._rules,
            list(self._state.store.custom_fields.get("Contact", ())),
            self._state.collections,
        )


def _contact_patch(contact: Record, body: Mapping[str, Any]) -> Record:
    """A partial Contact PUT body: what the transaction overwrites or adds."""
    patch: Record = {key: body[key] for key in ("contactType", "name") if body.get(key)}
    reference = reference_of(body)
    if reference is not None:
        patch["contactReferences"] = [reference]
    if split_tags(body.get("tags")):
        patch["tags"] = split_tags(body.get("tags"))
    if body.get("customFields"):
        patch["customFields"] = [{"name": n, "value": v} for n, v in body["customFields"].items()]
    individual = _matched_individual(contact, body.get("email"))
    fields, methods = individual_fields(body), _new_methods(contact, body)
    if individual is not None:
        patch["contactIndividuals"] = [
            {"id": individual["id"], **fields, "contactMethods": methods}
        ]
    elif fields or methods:
        patch["contactIndividuals"] = [{**fields, "isPrimary": True, "contactMethods": methods}]
    return patch


def _matched_individual(contact: Record, email: str | None) -> Record | None:
    """The individual holding the email, else the primary one, else the first."""
    individuals: list[Record] = contact["contactIndividuals"]
    wanted = (email or "").lower()
    for individual in individuals:
        for method in individual["contactMethods"]:
            if wanted and is_email_type(method.get("type")) and method["value"].lower() == wanted:
                return individual
    return primary_or_first(individuals)


def _new_methods(contact: Record, body: Mapping[str, Any]) -> list[Record]:
    """The transaction's email and phone not already on the contact (never primary)."""
    held = {
        str(m.get("value") or "").strip().lower()
        for i in contact["contactIndividuals"]
        for m in i["contactMethods"]
    }
    return [
        {**m, "isPrimary": False}
        for m in methods_of(body)
        if str(m["value"]).strip().lower() not in held
    ]


def _has_address(contact: Record, address1: str) -> bool:
    wanted = address1.strip().lower()
    return any((a.get("address1") or "").strip().lower() == wanted for a in contact[ADDRESSES])


def _add_collections(contact: Record, body: Mapping[str, Any], book: CollectionBook) -> None:
    """Each ``customObjects`` entry becomes a new instance (checked when accepted)."""
    for item in body.get("customObjects") or []:
        definition = book.by_name("Contact", item["name"])
        if definition is None:  # checked on acceptance; a reseed empties the queue
            continue
        values = {f["name"]: f.get("value") for f in item.get("fields") or []}
        instance = new_instance(definition, book.new_instance_id(), values)
        contact[COLLECTIONS] = [*(contact.get(COLLECTIONS) or []), instance]
