"""Contract rows of the custom collections, on contacts and individuals alike:
GET /api/{Owner}/CustomCollections, and POST / PUT / DELETE
/api/{Owner}/{id}/Collection/{...}.

crmplus-api.md does not document these routes; the shapes are those of the public
sources docs/sandbox.md ("Custom collections") names: an instance is virtuous-ts's
``CustomCollectionRead`` ``{customCollectionId, customCollectionName,
collectionInstanceId, fields: [{name, value}]}``, the definition list reuses its keys
(its live shape is not published). A write answers the instance (DELETE: 200, empty);
refusals are 400 under ``customCollection.``, 404 empty, or 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.sandbox.contract.case import Case, fixed, raw
from tests.sandbox.contract.rows_contact import MISSING
from tests.sandbox.contract.schemas import (
    INT,
    MESSAGE,
    NON_EMPTY,
    STRING,
    Schema,
    array_of,
    having,
    model_state_naming,
    record,
    validation_failed_on,
)
from tests.sandbox.helpers import ELEANOR, SHOWCASE

# A field value is any JSON scalar (values are stored as sent; dataType is not enforced).
SCALAR: Schema = {"type": ["string", "number", "boolean", "null"]}
DEFINITION = record(
    {
        "customCollectionId": INT,
        "customCollectionName": NON_EMPTY,
        "fields": array_of(record({"name": NON_EMPTY, "dataType": STRING}), min_items=1),
    }
)
FIELD_VALUE = record({"name": NON_EMPTY, "value": SCALAR})
INSTANCE = record(
    {
        "customCollectionId": INT,
        "customCollectionName": NON_EMPTY,
        "collectionInstanceId": INT,
        "fields": array_of(FIELD_VALUE),
    }
)


def holding(instance: Schema, name: str, value: Any) -> Schema:
    """``instance`` whose ``fields`` list ``name`` with ``value``: what the write sent."""
    sent = {"properties": {"fields": {"contains": having(FIELD_VALUE, name=name, value=value)}}}
    return {"allOf": [instance, sent]}


ADDED_VALUE = "First Aid"  # what the rows' POST bodies (and ``add_one``) send
# After a reset no instance exists, so the first one added gets id 1 (collection_defs).
FIRST_INSTANCE = 1


@dataclass(frozen=True)
class Owner:
    """A record that carries collections, and a collection defined for it (the seed's)."""

    shape: str  # "Contact" or "ContactIndividual", as in the path
    owner_id: int
    collection_id: int
    collection_name: str
    field_name: str  # one field of that collection
    other_collection_id: int  # a collection of the OTHER owner shape: unknown here

    def path(self, owner_id: int | None = None, segment: int | None = None) -> str:
        owner = self.owner_id if owner_id is None else owner_id
        last = self.collection_id if segment is None else segment
        return f"/api/{self.shape}/{owner}/Collection/{last}"

    def fields(self, value: Any = ADDED_VALUE) -> dict[str, Any]:
        return {"fields": [{"name": self.field_name, "value": value}]}

    def add_one(self, client: httpx.Client) -> None:
        """A ``before`` step: the instance the PUT and DELETE rows work on."""
        response = client.post(self.path(), json=self.fields())
        assert response.status_code == 200, f"POST {self.path()}: {response.text}"
        assert response.json()["collectionInstanceId"] == FIRST_INSTANCE


CONTACT_OWNER = Owner("Contact", SHOWCASE, 101, "Volunteer Shifts", "Role", 201)
INDIVIDUAL_OWNER = Owner("ContactIndividual", ELEANOR, 201, "Certifications", "Name", 101)


def _rows(owner: Owner) -> list[Case]:
    name = owner.shape.lower()
    instance = owner.path(segment=FIRST_INSTANCE)
    first = having(INSTANCE, collectionInstanceId=FIRST_INSTANCE)
    added = fixed(owner.fields())  # a valid POST body

    return [
        # -- GET /api/{Owner}/CustomCollections ------------------------------------------------
        Case(
            f"{name}-collection-definitions",
            "GET",
            f"/api/{owner.shape}/CustomCollections",
            200,
            {
                **array_of(DEFINITION, min_items=1),
                "contains": having(
                    DEFINITION,
                    customCollectionId=owner.collection_id,
                    customCollectionName=owner.collection_name,
                ),
            },
        ),
        # -- POST .../Collection/{customCollectionId} ----------------------------------------
        Case(
            f"{name}-collection-add",
            "POST",
            owner.path(),
            200,
            holding(
                having(
                    INSTANCE,
                    customCollectionId=owner.collection_id,
                    customCollectionName=owner.collection_name,
                ),
                owner.field_name,
                ADDED_VALUE,
            ),
            added,
        ),
        Case(
            f"{name}-collection-add-no-fields",
            "POST",
            owner.path(),
            400,
            model_state_naming("customCollection.fields"),
            fixed({}),
        ),
        Case(
            f"{name}-collection-add-fields-not-an-array",
            "POST",
            owner.path(),
            400,
            model_state_naming("customCollection.fields"),
            fixed({"fields": {owner.field_name: "x"}}),
        ),
        Case(
            f"{name}-collection-add-object-value",
            "POST",
            owner.path(),
            400,
            model_state_naming("customCollection.fields[0].value"),
            fixed(owner.fields({"text": "x"})),
        ),
        Case(
            f"{name}-collection-add-malformed",
            "POST",
            owner.path(),
            400,
            MESSAGE,
            raw(b'{"fields": [{"name": }]}'),
        ),
        Case(
            f"{name}-collection-add-unknown-collection",  # the other owner's collection
            "POST",
            owner.path(segment=owner.other_collection_id),
            422,
            validation_failed_on("customCollection.customCollectionId", "UnknownCustomCollection"),
            added,
        ),
        Case(
            f"{name}-collection-add-unknown-field",
            "POST",
            owner.path(),
            422,
            validation_failed_on("customCollection.fields[0].name", "UnknownCustomCollectionField"),
            fixed({"fields": [{"name": "Favourite Colour", "value": "Blue"}]}),
        ),
        Case(
            f"{name}-collection-add-field-twice",
            "POST",
            owner.path(),
            422,
            validation_failed_on("customCollection.fields[1].name", "DuplicateField"),
            fixed({"fields": owner.fields()["fields"] * 2}),
        ),
        Case(
            f"{name}-collection-add-unknown-owner",
            "POST",
            owner.path(owner_id=MISSING),
            404,
            None,
            added,
        ),
        # -- PUT .../Collection/{collectionInstanceId} ---------------------------------------
        Case(
            f"{name}-collection-update",
            "PUT",
            instance,
            200,
            holding(
                having(first, customCollectionId=owner.collection_id), owner.field_name, "Lifeguard"
            ),
            fixed(owner.fields("Lifeguard")),
            before=owner.add_one,
        ),
        Case(
            f"{name}-collection-update-unknown-field",
            "PUT",
            instance,
            422,
            validation_failed_on("customCollection.fields[0].name", "UnknownCustomCollectionField"),
            fixed({"fields": [{"name": "Favourite Colour", "value": "Blue"}]}),
            before=owner.add_one,
        ),
        Case(
            f"{name}-collection-update-value-as-list",
            "PUT",
            instance,
            400,
            model_state_naming("customCollection.fields[0].value"),
            fixed(owner.fields(["a", "b"])),
            before=owner.add_one,
        ),
        Case(
            f"{name}-collection-update-unknown-instance",
            "PUT",
            owner.path(segment=MISSING),
            404,
            None,
            added,
        ),
        # -- DELETE .../Collection/{customCollectionId}?collectionInstanceId= ----------------
        Case(
            f"{name}-collection-delete",
            "DELETE",
            owner.path(),
            200,
            None,
            params={"collectionInstanceId": str(FIRST_INSTANCE)},
            before=owner.add_one,
        ),
        Case(
            f"{name}-collection-delete-without-instance-id",
            "DELETE",
            owner.path(),
            400,
            MESSAGE,
            before=owner.add_one,
        ),
        Case(
            f"{name}-collection-delete-unknown-instance",
            "DELETE",
            owner.path(),
            404,
            None,
            params={"collectionInstanceId": str(MISSING)},
        ),
        Case(
            f"{name}-collection-delete-unknown-owner",
            "DELETE",
            owner.path(owner_id=MISSING),
            404,
            None,
            params={"collectionInstanceId": str(FIRST_INSTANCE)},
        ),
    ]


ROWS = [
    *_rows(CONTACT_OWNER),
    *_rows(INDIVIDUAL_OWNER),
    # An individual's instance may name its collection: another name is refused.
    Case(
        "contactindividual-collection-add-wrong-name",
        "POST",
        INDIVIDUAL_OWNER.path(),
        422,
        validation_failed_on("customCollection.name", "UnknownCustomCollection"),
        fixed({**INDIVIDUAL_OWNER.fields(), "name": CONTACT_OWNER.collection_name}),
    ),
]
