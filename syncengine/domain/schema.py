"""The field-type map of the CRM+ Contact shapes, as documented in ``crmplus-api.md``.

One table per shape says, for each known key, its natural type on the wire and whether
a client may write it. Unknown keys are not in the table: they are kept as they came and
sent back untouched (the API grows keys over time).

Why a table and not classes: records stay plain JSON dicts end to end, so nothing the
server sends is ever lost by a parse-and-reserialise round trip.

The read formats the API uses but does not accept back (money "$1,200",
"Unavailable", "M/D/YYYY", timestamps without zone) live in ``fieldtypes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """The natural wire type of a field."""

    STRING = "string"
    BOOL = "boolean"
    INT = "integer"
    DATE = "date"  # written as ISO 8601; read as "M/D/YYYY", ISO or "" (none)
    TIMESTAMP = "timestamp"  # "2023-11-30T14:20:56.3533333", no zone, 0-7 fraction digits
    MONEY = "money"  # read-only formatted text: "$1,200"
    OBJECT = "object"  # a nested shape (see ``Field.shape``)
    ARRAY = "array"  # a list of nested shapes or of scalars (see ``Field.shape``)
    OPAQUE = "opaque"  # passed through untouched (customCollections, custom field values)


@dataclass(frozen=True)
class Field:
    kind: Kind
    writable: bool = True
    shape: str | None = None  # for OBJECT/ARRAY of objects: the nested shape's name
    item_kind: Kind | None = None  # for ARRAY of scalars (tags: STRING)


def _rw(kind: Kind) -> Field:
    return Field(kind)


def _ro(kind: Kind) -> Field:
    return Field(kind, writable=False)


# One-letter aliases keep the tables below readable as tables.
S, B, D, T, M = Kind.STRING, Kind.BOOL, Kind.DATE, Kind.TIMESTAMP, Kind.MONEY
INT, OPAQUE = Kind.INT, Kind.OPAQUE

_AUDIT: dict[str, Field] = {
    "createDateTimeUtc": _ro(T),
    "createdByUser": _ro(S),
    "modifiedDateTimeUtc": _ro(T),
    "modifiedByUser": _ro(S),
}

CONTACT_ADDRESS: dict[str, Field] = {
    "id": _ro(INT),
    "contactId": _ro(INT),
    "label": _rw(S),
    "address1": _rw(S),
    "address2": _rw(S),
    "city": _rw(S),
    "state": _rw(S),
    "postal": _rw(S),
    "country": _rw(S),
    "isPrimary": _rw(B),
    "canBePrimary": _ro(B),
    "startMonth": _rw(INT),
    "startDay": _rw(INT),
    "endMonth": _rw(INT),
    "endDay": _rw(INT),
    **_AUDIT,
}

CONTACT_METHOD: dict[str, Field] = {
    "id": _ro(INT),
    "type": _rw(S),
    "value": _rw(S),
    "isOptedIn": _rw(B),
    "isPrimary": _rw(B),
    "canBePrimary": _ro(B),
    **_AUDIT,
}

CUSTOM_FIELD: dict[str, Field] = {
    "name": _rw(S),
    # A custom field's type is org-defined and not in the GET shape: pass it through.
    "value": _rw(OPAQUE),
    "displayName": _ro(S),
}

CONTACT_REFERENCE: dict[str, Field] = {
    "source": _rw(S),
    "id": _rw(S),
}

CONTACT_INDIVIDUAL: dict[str, Field] = {
    "id": _ro(INT),
    "contactId": _ro(INT),
    "prefix": _rw(S),
    "prefix2": _rw(S),
    "firstName": _rw(S),
    "middleName": _rw(S),
    "lastName": _rw(S),
    "preMarriageName": _rw(S),
    "suffix": _rw(S),
    "nickname": _rw(S),
    "gender": _rw(S),
    "isPrimary": _rw(B),
    "canBePrimary": _ro(B),
    "isSecondary": _rw(B),
    "canBeSecondary": _ro(B),
    "birthMonth": _rw(INT),
    "birthDay": _rw(INT),
    "birthYear": _rw(INT),
    "birthDate": _ro(D),  # derived from birthMonth/Day/Year
    "approximateAge": _ro(INT),  # derived
    "isDeceased": _rw(B),
    "deceasedDate": _rw(D),
    "passion": _rw(S),
    "avatarUrl": _ro(S),
    "contactMethods": Field(Kind.ARRAY, shape="ContactMethod"),
    "customFields": Field(Kind.ARRAY, shape="CustomField"),
    "customCollections": _ro(OPAQUE),
    **_AUDIT,
}

CONTACT: dict[str, Field] = {
    "id": _ro(INT),
    "contactType": _rw(S),
    "isPrivate": _rw(B),
    "name": _rw(S),
    "informalName": _rw(S),
    "formalContactName": _rw(S),
    "alternateContactName": _rw(S),
    "preferredSalutationName": _rw(S),
    "preferredAddresseeName": _rw(S),
    "description": _rw(S),
    "website": _rw(S),
    "maritalStatus": _rw(S),
    "anniversaryMonth": _rw(INT),
    "anniversaryDay": _rw(INT),
    "anniversaryYear": _rw(INT),
    "mergedIntoContactId": _ro(INT),
    "address": Field(Kind.OBJECT, shape="ContactAddress"),
    "giftAskAmount": _ro(M),
    "giftAskType": _ro(S),
    "lifeToDateGiving": _ro(M),
    "yearToDateGiving": _ro(M),
    "lastGiftAmount": _ro(M),
    "lastGiftDate": _ro(D),
    "contactIndividuals": Field(Kind.ARRAY, shape="ContactIndividual"),
    "contactGiftsUrl": _ro(S),
    "contactPassthroughGiftsUrl": _ro(S),
    "contactPlannedGiftsUrl": _ro(S),
    "contactRecurringGiftsUrl": _ro(S),
    "contactImportantNotesUrl": _ro(S),
    "contactNotesUrl": _ro(S),
    "contactTagsUrl": _ro(S),
    "contactRelationshipsUrl": _ro(S),
    "primaryAvatarUrl": _ro(S),
    "contactReferences": Field(Kind.ARRAY, shape="ContactReference"),
    "originSegmentId": _ro(INT),
    "originSegment": _ro(OPAQUE),
    "tags": Field(Kind.ARRAY, item_kind=Kind.STRING),
    "organizationGroups": Field(Kind.ARRAY, item_kind=Kind.STRING),
    "customFields": Field(Kind.ARRAY, shape="CustomField"),
    "customCollections": _ro(OPAQUE),
    **_AUDIT,
}

SHAPES: dict[str, dict[str, Field]] = {
    "Contact": CONTACT,
    "ContactIndividual": CONTACT_INDIVIDUAL,
    "ContactMethod": CONTACT_METHOD,
    "ContactAddress": CONTACT_ADDRESS,
    "CustomField": CUSTOM_FIELD,
    "ContactReference": CONTACT_REFERENCE,
}

# How items of each array are told apart: never by position.
# A tuple of keys is a compound identity; SET means the array is a set of scalars.
SET = ("__set__",)
ARRAY_IDENTITY: dict[str, tuple[str, ...]] = {
    "contactIndividuals": ("id",),
    "contactMethods": ("id",),
    "customFields": ("name",),
    "contactReferences": ("source", "id"),
    "tags": SET,
    "organizationGroups": SET,
}
# New items have no server id yet; they are matched by a natural key instead.
NATURAL_KEY: dict[str, tuple[str, ...]] = {
    "contactMethods": ("type", "value"),
    "contactIndividuals": ("firstName", "lastName"),
}

# Fields whose wrong value does real harm (a deceased donor mailed, a private record
# exposed): every write touching them is confirmed by a follow-up GET. Configurable.
DEFAULT_HIGH_STAKES = ("isDeceased", "isPrivate", "contactType", "name", "isArchived")

US_STATE_CODES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
    ]
)


def shape_of(name: str) -> dict[str, Field]:
    """The field table of a shape by its name (``Contact``, ``ContactMethod``...)."""
    return SHAPES[name]


def is_email_type(method_type: str | None) -> bool:
    """Code tells emails from phones by the word in ``type`` ("Home Email", "Work Email")."""
    return bool(method_type) and "email" in str(method_type).lower()


def is_phone_type(method_type: str | None) -> bool:
    """The phone counterpart of ``is_email_type`` ("Mobile Phone", "Home Phone")."""
    return bool(method_type) and "phone" in str(method_type).lower()
