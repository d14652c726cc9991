"""The create-only shapes of POST /api/Contact, turned into the shapes writes understand.

A create body differs from the GET/PUT shape (crmplus-api.md, "Endpoints"): addresses come
as ``contactAddresses[]`` with ``stateCode``/``countryCode``, custom fields as an object map
``{name: value}``, one reference as ``referenceSource``/``referenceId``, and ``isArchived``
is accepted. Everything else is the Contact shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import CONTACT, CONTACT_ADDRESS, SHAPES, Field, Kind
from syncengine.sandbox.records import ADDRESSES, ARCHIVED, CUSTOM_FIELDS
from syncengine.sandbox.typecheck import ShapeTable

# Create-only ``countryCode`` values the sandbox turns into the full names GET shows.
COUNTRY_NAMES = {
    "US": "United States",
    "USA": "United States",
    "CA": "Canada",
    "MX": "Mexico",
    "GB": "United Kingdom",
    "UK": "United Kingdom",
    "IE": "Ireland",
    "AU": "Australia",
    "NZ": "New Zealand",
    "DE": "Germany",
    "FR": "France",
}

_CREATE_ONLY = frozenset({ADDRESSES, ARCHIVED, "referenceSource", "referenceId"})

CREATE_SHAPES: ShapeTable = {
    **SHAPES,
    "Contact": {
        **{key: spec for key, spec in CONTACT.items() if key != "address"},
        CUSTOM_FIELDS: Field(Kind.OBJECT),  # a map of name -> value, values untyped
        ADDRESSES: Field(Kind.ARRAY, shape="CreateContactAddress"),
        "referenceSource": Field(Kind.STRING),
        "referenceId": Field(Kind.STRING),
        ARCHIVED: Field(Kind.BOOL),
    },
    "CreateContactAddress": {
        **CONTACT_ADDRESS,
        "stateCode": Field(Kind.STRING),
        "countryCode": Field(Kind.STRING),
    },
}


@dataclass(frozen=True)
class CreateRequest:
    """A type-checked create body, split into what the generic write applies and the rest."""

    contact: Record  # in the PUT shape
    addresses: list[Record]  # in the ContactAddress shape
    primary_index: int
    archived: bool


def split_create_body(body: Mapping[str, Any]) -> CreateRequest:
    contact = {key: value for key, value in body.items() if key not in _CREATE_ONLY}
    custom = body.get(CUSTOM_FIELDS) or {}
    contact[CUSTOM_FIELDS] = [{"name": name, "value": value} for name, value in custom.items()]
    if body.get("referenceSource") is not None or body.get("referenceId") is not None:
        reference = {"source": body.get("referenceSource"), "id": body.get("referenceId")}
        contact["contactReferences"] = [*(body.get("contactReferences") or []), reference]
    addresses = [_address(a) for a in body.get(ADDRESSES) or []]
    primary = next((i for i, a in enumerate(addresses) if a.get("isPrimary")), 0)
    return CreateRequest(contact, addresses, primary, bool(body.get(ARCHIVED, False)))


def country_name(code: str) -> str:
    """The full country name GET shows for a code; an unknown code is kept as written."""
    return COUNTRY_NAMES.get(code.strip().upper(), code.strip())


def _address(body: Mapping[str, Any]) -> Record:
    address = {key: value for key, value in body.items() if key not in ("stateCode", "countryCode")}
    if body.get("stateCode") is not None:
        address["state"] = body["stateCode"]
    if body.get("countryCode") is not None:
        address["country"] = country_name(body["countryCode"])
    return address
