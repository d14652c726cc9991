"""The flat Contact transaction of ``POST /api/Contact/Transaction`` and ``/Batch``.

Shape (docs.virtuous.org "Create a Contact Import..."; VirtuousCRM/n8n-nodes-virtuous-crm,
``contactTransaction/create.ts``): one contact with its primary individual, one email,
one phone and one address flattened to top-level keys::

    {referenceSource, referenceId, contactType, name, title, firstName, middleName,
     lastName, suffix, gender, birthMonth, birthDay, birthYear, emailType, email,
     phoneType, phone, address1, address2, city, state, postal, country, eventId,
     eventName, invited, rsvp, rsvpResponse, attended, tags ("a;b"), originSegmentCode,
     emailLists [..], customFields {name: value}, customObjects [{name, fields}],
     volunteerAttendances [..]}

A batch is ``{referenceSource, contacts: [<transaction without referenceSource>]}``.
This module checks a transaction when it is accepted (types 400, values 422) and turns
it into the shapes the contact write path understands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import Field, Kind, is_email_type
from syncengine.errors import FieldProblem
from syncengine.sandbox.api_errors import INVALID_REQUEST, BadRequestError, UnprocessableError
from syncengine.sandbox.collection_defs import CollectionBook, field_values, unknown_collection
from syncengine.sandbox.custom_collections import WRITE_SHAPES
from syncengine.sandbox.records import CustomFieldDef
from syncengine.sandbox.typecheck import ShapeTable, check_types
from syncengine.sandbox.validation import Rules, unknown_custom_field, validate_item

TRANSACTION_ROOT = "contactTransaction"
BATCH_ROOT = "contactBatch"
# Not published: the sandbox's own bound, so a rehearsal meets one (a 400 past it).
BATCH_LIMIT = 100

DEFAULT_EMAIL_TYPE = "Home Email"
DEFAULT_PHONE_TYPE = "Home Phone"
DEFAULT_CONTACT_TYPE = "Household"
TAG_SEPARATOR = ";"

_S = Field(Kind.STRING)
_I = Field(Kind.INT)
_B = Field(Kind.BOOL)

# The individual's keys, as the transaction names them -> as a ContactIndividual does.
INDIVIDUAL_KEYS = {
    "title": "prefix",
    "firstName": "firstName",
    "middleName": "middleName",
    "lastName": "lastName",
    "suffix": "suffix",
    "gender": "gender",
    "birthMonth": "birthMonth",
    "birthDay": "birthDay",
    "birthYear": "birthYear",
}
ADDRESS_KEYS = ("address1", "address2", "city", "state", "postal", "country")

SHAPES: ShapeTable = {
    **WRITE_SHAPES,
    "ContactTransaction": {
        "referenceSource": _S,
        "referenceId": _S,
        "contactType": _S,
        "name": _S,
        **{key: _I if key.startswith("birth") else _S for key in INDIVIDUAL_KEYS},
        "emailType": _S,
        "email": _S,
        "phoneType": _S,
        "phone": _S,
        **{key: _S for key in ADDRESS_KEYS},
        "eventId": _I,
        "eventName": _S,
        "invited": _B,
        "rsvp": _B,
        "rsvpResponse": _B,
        "attended": _B,
        "tags": _S,
        "originSegmentCode": _S,
        "emailLists": Field(Kind.ARRAY, item_kind=Kind.STRING),
        "customFields": Field(Kind.OBJECT),
        "customObjects": Field(Kind.ARRAY, shape="CollectionInstance"),
        "volunteerAttendances": Field(Kind.ARRAY),
    },
    "ContactBatch": {
        "referenceSource": _S,
        "contacts": Field(Kind.ARRAY, shape="ContactTransaction"),
    },
}


@dataclasses.dataclass(frozen=True)
class OrgRules:
    """What a transaction is checked against: the organisation's definitions."""

    rules: Rules
    custom_fields: list[CustomFieldDef]
    collections: CollectionBook


def check_transaction(body: Any, org: OrgRules) -> Record:
    """A transaction body, type-checked (400) and value-checked (422)."""
    checked = check_types(body, "ContactTransaction", SHAPES, TRANSACTION_ROOT)
    _refuse(problems_of(checked, org, TRANSACTION_ROOT))
    return checked


def check_batch(body: Any, org: OrgRules) -> list[Record]:
    """The batch's transactions, each carrying the batch's ``referenceSource`` unless it
    names its own; all or nothing: one bad item refuses the whole batch."""
    checked = check_types(body, "ContactBatch", SHAPES, BATCH_ROOT)
    contacts = checked.get("contacts")
    if not contacts:
        raise BadRequestError(INVALID_REQUEST, {f"{BATCH_ROOT}.contacts": ["No contacts given."]})
    if len(contacts) > BATCH_LIMIT:
        message = f"At most {BATCH_LIMIT} contacts per batch; got {len(contacts)}."
        raise BadRequestError(INVALID_REQUEST, {f"{BATCH_ROOT}.contacts": [message]})
    source = checked.get("referenceSource")
    items = [{"referenceSource": source, **item} for item in contacts]
    problems: list[FieldProblem] = []
    for index, item in enumerate(items):
        problems += problems_of(item, org, f"{BATCH_ROOT}.contacts[{index}]")
    _refuse(problems)
    return items


def problems_of(body: Mapping[str, Any], org: OrgRules, path: str) -> list[FieldProblem]:
    """The 422 problems of one transaction; the contact rules are reused on the items the
    transaction would write, then renamed to the flat key that carried the value."""
    # No name is not refused here: a transaction may only update the contact it matches
    # (one that matches nothing then fails when applied, as the create path refuses it).
    problems: list[FieldProblem] = []
    if body.get("contactType") is not None:
        item = {"name": "-", "contactType": body["contactType"]}
        problems += validate_item("Contact", item, path, org.rules)
    individual = {key: body.get(key) for key in ("birthMonth", "birthDay")}
    problems += validate_item("ContactIndividual", individual, path, org.rules)
    for kind, (type_key, value_key, default) in _METHODS.items():
        problems += _method_problems(body, path, kind, type_key, value_key, default, org.rules)
    defined = {d.name for d in org.custom_fields}
    for name in body.get("customFields") or {}:
        if name not in defined:
            problems.append(unknown_custom_field(f"{path}.customFields.{name}", name))
    for index, item in enumerate(body.get("customObjects") or []):
        where = f"{path}.customObjects[{index}]"
        definition = org.collections.by_name("Contact", item.get("name"))
        if definition is None:
            problems.append(unknown_collection(f"{where}.name", item.get("name")))
        else:
            problems += field_values(definition, item.get("fields") or [], f"{where}.fields")[1]
    return problems


def new_contact_name(body: Mapping[str, Any]) -> str | None:
    """The name of the contact a transaction creates: ``name``, else "First Last"."""
    if body.get("name"):
        return str(body["name"])
    parts = [body.get("firstName"), body.get("lastName")]
    return " ".join(str(p) for p in parts if p) or None


def split_tags(text: str | None) -> list[str]:
    return [tag.strip() for tag in (text or "").split(TAG_SEPARATOR) if tag.strip()]


def reference_of(body: Mapping[str, Any]) -> dict[str, str] | None:
    if body.get("referenceSource") and body.get("referenceId"):
        return {"source": body["referenceSource"], "id": body["referenceId"]}
    return None


def individual_fields(body: Mapping[str, Any]) -> Record:
    """The individual's fields the transaction gives (empty values give nothing)."""
    return {
        target: body[key]
        for key, target in INDIVIDUAL_KEYS.items()
        if body.get(key) not in (None, "")
    }


def methods_of(body: Mapping[str, Any]) -> list[Record]:
    """The email and phone the transaction gives, as contact methods."""
    return [
        {"type": body.get(type_key) or default, "value": body[value_key]}
        for type_key, value_key, default in _METHODS.values()
        if body.get(value_key)
    ]


def address_of(body: Mapping[str, Any]) -> Record | None:
    """The address in the create-only shape (``countryCode`` names become full names)."""
    if not body.get("address1"):
        return None
    address = {key: body.get(key) for key in ADDRESS_KEYS if key != "country"}
    if body.get("country"):
        address["countryCode"] = body["country"]
    return address


def create_body(body: Mapping[str, Any]) -> Record:
    """The POST /api/Contact body of the contact a transaction that matched nothing creates."""
    created: Record = {
        "contactType": body.get("contactType") or DEFAULT_CONTACT_TYPE,
        "name": new_contact_name(body),
        "tags": split_tags(body.get("tags")),
        "customFields": dict(body.get("customFields") or {}),
    }
    reference = reference_of(body)
    if reference is not None:
        created["referenceSource"], created["referenceId"] = reference["source"], reference["id"]
    individual = individual_fields(body)
    methods = [{**m, "isPrimary": True} for m in methods_of(body)]
    if individual or methods:
        created["contactIndividuals"] = [
            {**individual, "isPrimary": True, "contactMethods": methods}
        ]
    address = address_of(body)
    if address is not None:
        created["contactAddresses"] = [{**address, "isPrimary": True}]
    return created


_METHODS = {
    "email": ("emailType", "email", DEFAULT_EMAIL_TYPE),
    "phone": ("phoneType", "phone", DEFAULT_PHONE_TYPE),
}


def _method_problems(
    body: Mapping[str, Any],
    path: str,
    kind: str,
    type_key: str,
    value_key: str,
    default: str,
    rules: Rules,
) -> list[FieldProblem]:
    method_type = body.get(type_key) or default
    if is_email_type(method_type) != (kind == "email"):
        message = f"{method_type!r} is not a{'n' if kind == 'email' else ''} {kind} type."
        return [FieldProblem(f"{path}.{type_key}", message, "InvalidMethodType")]
    if not body.get(value_key):
        return []
    found = validate_item(
        "ContactMethod", {"type": method_type, "value": body[value_key]}, path, rules
    )
    return [dataclasses.replace(p, field=f"{path}.{value_key}") for p in found]


def _refuse(problems: list[FieldProblem]) -> None:
    if problems:
        raise UnprocessableError(problems)
