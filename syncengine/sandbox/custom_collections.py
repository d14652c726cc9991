"""Custom collection instances on contacts and individuals, free of HTTP.

The routes (public clients: VirtuousCRM/n8n-nodes-virtuous-crm, ``contactCollection`` and
``contactIndividualCollection``; docs.virtuous.org, Contacts reference):
- ``POST /api/{Owner}/{ownerId}/Collection/{customCollectionId}`` ``{"fields": [{name, value}]}``
  (an individual's may add ``name``, the collection's name) adds an instance;
- ``PUT /api/{Owner}/{ownerId}/Collection/{collectionInstanceId}`` ``{"fields": [...]}``
  updates one: the vendor's own client puts the INSTANCE id in the path;
- ``DELETE /api/{Owner}/{ownerId}/Collection/{customCollectionId}?collectionInstanceId=``.
Every write goes through the contact write path (``CrmOperations.write_contact``): checked
on a copy, the contact (and an individual owner) stamped, committed only if valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import Field, Kind
from syncengine.sandbox.api_errors import INVALID_REQUEST, BadRequestError, NotFoundError
from syncengine.sandbox.collection_defs import (
    COLLECTION_OWNERS,
    COLLECTIONS,
    CollectionDef,
    field_values,
    instance_fields,
    unknown_collection,
)
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.state import SandboxState
from syncengine.sandbox.typecheck import ShapeTable, check_types
from syncengine.sandbox.writes import WriteContext, stamp_modified

# The ASP.NET action parameter that prefixes modelState keys of these writes.
COLLECTION_ROOT = "customCollection"

WRITE_SHAPES: ShapeTable = {
    "CollectionInstance": {
        "name": Field(Kind.STRING),
        "fields": Field(Kind.ARRAY, shape="CollectionField"),
    },
    "CollectionField": {"name": Field(Kind.STRING), "value": Field(Kind.OPAQUE)},
}


def check_collection_body(body: Any, root: str = COLLECTION_ROOT) -> dict[str, Any]:
    """The type-checked write body: ``fields`` is required, each value a JSON scalar (400)."""
    checked = check_types(body, "CollectionInstance", WRITE_SHAPES, root)
    errors: dict[str, list[str]] = {}
    if checked.get("fields") is None:
        errors[f"{root}.fields"] = ["The fields field is required."]
    for index, item in enumerate(checked.get("fields") or []):
        if isinstance(item.get("value"), dict | list):
            where = f"{root}.fields[{index}].value"
            errors[where] = [
                f"A collection field value must be a text, number or boolean ({where})."
            ]
    if errors:
        raise BadRequestError(INVALID_REQUEST, errors)
    return checked


def new_instance(definition: CollectionDef, instance_id: int, values: Mapping[str, Any]) -> Record:
    """An instance in the read (and stored) shape."""
    return {
        "customCollectionId": definition.collection_id,
        "customCollectionName": definition.name,
        "collectionInstanceId": instance_id,
        "fields": instance_fields(definition, values),
    }


class CollectionOperations:
    def __init__(self, ops: CrmOperations, state: SandboxState) -> None:
        self._ops = ops
        self._state = state

    def definitions(self, owner: str) -> list[Record]:
        """GET /api/{Owner}/CustomCollections: what the organisation defined."""
        with self._state.lock:
            return [d.to_json() for d in self._state.collections.definitions[owner]]

    def add(self, owner: str, owner_id: int, collection_id: int, body: Any) -> Record:
        checked = check_collection_body(body)
        with self._state.lock:
            contact_id = self._contact_of(owner, owner_id)
            book = self._state.collections
            definition = book.by_id(owner, collection_id)
            instance_id = book.next_instance_id

            def change(contact: Record, ctx: WriteContext) -> Record:
                if definition is None:
                    path = f"{COLLECTION_ROOT}.customCollectionId"
                    ctx.problems.append(unknown_collection(path, collection_id))
                    return {}
                name = checked.get("name")
                if name is not None and name != definition.name:
                    ctx.problems.append(unknown_collection(f"{COLLECTION_ROOT}.name", name))
                values, problems = field_values(
                    definition, checked["fields"], f"{COLLECTION_ROOT}.fields"
                )
                ctx.problems.extend(problems)
                instance = new_instance(definition, instance_id, values)
                holder = _holder(contact, owner, owner_id)
                holder[COLLECTIONS] = [*(holder.get(COLLECTIONS) or []), instance]
                _stamp_holder(contact, holder, ctx)
                return instance

            created = self._ops.write_contact(contact_id, change)
            book.new_instance_id()  # taken only once the write is committed
            return created

    def update(self, owner: str, owner_id: int, instance_id: int, body: Any) -> Record:
        """Under ``replace`` a field the body leaves out is cleared; under ``patch`` kept."""
        checked = check_collection_body(body)
        with self._state.lock:
            contact_id = self._contact_of(owner, owner_id)

            def change(contact: Record, ctx: WriteContext) -> Record:
                holder = _holder(contact, owner, owner_id)
                instance = _instance(holder, instance_id)
                definition = self._state.collections.by_id(owner, instance["customCollectionId"])
                if definition is None:  # a seeded instance always defines its collection
                    raise NotFoundError()
                values, problems = field_values(
                    definition, checked["fields"], f"{COLLECTION_ROOT}.fields"
                )
                ctx.problems.extend(problems)
                if ctx.keeps_omitted:
                    kept = {f["name"]: f.get("value") for f in instance.get("fields") or []}
                    values = {**kept, **values}
                instance["fields"] = instance_fields(definition, values)
                _stamp_holder(contact, holder, ctx)
                return instance

            return self._ops.write_contact(contact_id, change)

    def delete(self, owner: str, owner_id: int, collection_id: int, instance_id: int) -> None:
        with self._state.lock:
            contact_id = self._contact_of(owner, owner_id)

            def change(contact: Record, ctx: WriteContext) -> Record:
                holder = _holder(contact, owner, owner_id)
                instance = _instance(holder, instance_id)
                if instance["customCollectionId"] != collection_id:
                    raise NotFoundError()
                holder[COLLECTIONS] = [i for i in holder[COLLECTIONS] if i is not instance]
                _stamp_holder(contact, holder, ctx)
                return instance

            self._ops.write_contact(contact_id, change)

    def _contact_of(self, owner: str, owner_id: int) -> int:
        """The id of the contact that holds the owner (404 if there is none)."""
        assert owner in COLLECTION_OWNERS  # the routes pass one of them
        if owner == "Contact":
            return int(self._state.store.get(owner_id)["id"])
        contact, _ = self._state.store.locate("ContactIndividual", owner_id)
        return int(contact["id"])


def _holder(contact: Record, owner: str, owner_id: int) -> Record:
    if owner == "Contact":
        return contact
    return next(i for i in contact["contactIndividuals"] if i["id"] == owner_id)


def _instance(holder: Record, instance_id: int) -> Record:
    instances: list[Record] = holder.get(COLLECTIONS) or []
    found = next((i for i in instances if i.get("collectionInstanceId") == instance_id), None)
    if found is None:
        raise NotFoundError()
    return found


def _stamp_holder(contact: Record, holder: Record, ctx: WriteContext) -> None:
    # The contact is stamped by the write path itself; an individual owner changed too.
    if holder is not contact:
        stamp_modified(holder, ctx)
