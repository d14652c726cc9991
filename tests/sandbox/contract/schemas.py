"""The wire types of crmplus-api.md as JSON Schemas: the contract every answer is held to.

Written from the reference and the two recorded responses in virtuous-fixtures/, NOT from
the sandbox's own field table (``syncengine.domain.schema``): a contract derived from the
code it checks would agree with every mistake in it.

Records require every documented key and allow others (the live API grows keys over
time); envelopes and error bodies are exact. ``integer`` is strict (see ``checker``): a
bool or a float such as ``4821.0`` is not an int.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Schema = dict[str, Any]

# -- the type rules of "Types: the spec lies" and the recorded responses ----------------

INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": ["string", "null"]}  # free text: null when never set
ARRAY: Schema = {"type": "array"}
ANY_JSON: Schema = {}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null. Widening ``type`` (rather than an ``anyOf``) keeps the other
    keywords in force and makes the checker name the exact key at fault."""
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


def _matching(pattern: str) -> Schema:
    return {"type": "string", "pattern": pattern}


MONTH = nullable({"type": "integer", "minimum": 1, "maximum": 12})
DAY = nullable({"type": "integer", "minimum": 1, "maximum": 31})
YEAR = nullable(INT)
# No zone suffix, 0 to 7 fraction digits ("2023-11-30T14:20:56.3533333", "...:56").
TIMESTAMP = _matching(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")
_MDY = r"(1[0-2]|[1-9])/(3[01]|[12]\d|[1-9])/\d{4}"
DATE_OR_EMPTY = _matching(rf"^(|{_MDY})$")  # birthDate, deceasedDate: "9/4/1998" or ""
GIFT_DATE = _matching(rf"^(Unavailable|{_MDY})$")  # lastGiftDate
MONEY = _matching(r"^-?\$\d{1,3}(,\d{3})*(\.\d{2})?$")  # "$1,200", "$0"
API_URL = _matching(r"^/api/")  # the ...Url links are paths on the same API

# -- records: every documented key, of its type; unknown keys tolerated ------------------


def record(properties: Mapping[str, Schema], *, never: Iterable[str] = ()) -> Schema:
    """An object with every key of ``properties``; other keys allowed, ``never`` refused."""
    # ``not {}`` refuses a key whatever its value (jsonschema reports a bare ``false``
    # schema without the key's path).
    refused: Schema = {key: {"not": {}} for key in never}
    return {
        "type": "object",
        "properties": {**dict(properties), **refused},
        "required": sorted(properties),
    }


def array_of(item: Schema, *, min_items: int = 0, max_items: int | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": item, "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def having(schema: Schema, **values: Any) -> Schema:
    """``schema``, with some keys pinned to exact values (what a row knows it asked for)."""
    pinned: Schema = {
        "properties": {key: {"const": value} for key, value in values.items()},
        "required": sorted(values),
    }
    return {"allOf": [schema, pinned]}


def exactly_one(items: Schema, matching: Schema) -> Schema:
    """An array of ``items`` of which exactly one also matches ``matching``."""
    return {**items, "contains": matching, "minContains": 1, "maxContains": 1}


PRIMARY: Schema = {"properties": {"isPrimary": {"const": True}}}

_AUDIT: Schema = {
    "createDateTimeUtc": TIMESTAMP,
    "createdByUser": TEXT,
    "modifiedDateTimeUtc": TIMESTAMP,
    "modifiedByUser": TEXT,
}

_ADDRESS_FIELDS: Schema = {
    "id": INT,
    **{key: TEXT for key in ("label", "address1", "address2", "city", "postal")},
    # Never null: "" when unknown (reference and recorded response), unlike city or postal.
    "state": STRING,  # a code, free text or ""
    "country": STRING,  # a full name or ""
    "isPrimary": BOOL,
    "canBePrimary": BOOL,
    "startMonth": MONTH,
    "startDay": DAY,
    "endMonth": MONTH,
    "endDay": DAY,
    **_AUDIT,
}
# Inside a Contact (``address``) the recorded response has no contactId; on its own
# (GET /api/ContactAddress/{id}, ByContact) an address names its contact.
EMBEDDED_ADDRESS = record(_ADDRESS_FIELDS)
ADDRESS = record({**_ADDRESS_FIELDS, "contactId": INT})

CUSTOM_FIELD = record({"name": STRING, "value": ANY_JSON, "displayName": TEXT})
REFERENCE = record({"source": STRING, "id": STRING})

METHOD = record(
    {
        "id": INT,
        "type": STRING,  # "Home Email", "Mobile Phone", ...: org-extensible
        "value": TEXT,
        "isOptedIn": BOOL,
        "isPrimary": BOOL,
        "canBePrimary": BOOL,
        **_AUDIT,
    }
)

_NAME_KEYS = ("prefix", "prefix2", "firstName", "middleName", "lastName", "preMarriageName")
INDIVIDUAL = record(
    {
        "id": INT,
        "contactId": INT,
        **{key: TEXT for key in (*_NAME_KEYS, "suffix", "nickname", "gender")},
        **{key: BOOL for key in ("isPrimary", "canBePrimary", "isSecondary", "canBeSecondary")},
        "birthMonth": MONTH,
        "birthDay": DAY,
        "birthYear": YEAR,
        "birthDate": DATE_OR_EMPTY,
        "approximateAge": nullable(INT),
        "isDeceased": BOOL,
        "deceasedDate": DATE_OR_EMPTY,
        "passion": TEXT,
        "avatarUrl": TEXT,
        "contactMethods": array_of(METHOD),
        "customFields": array_of(CUSTOM_FIELD),
        "customCollections": ARRAY,
        **_AUDIT,
    }
)

_CONTACT_TEXT = (
    "name",
    "informalName",
    "formalContactName",
    "alternateContactName",
    "preferredSalutationName",
    "preferredAddresseeName",
    "description",
    "website",
    "maritalStatus",
    "giftAskType",
    "primaryAvatarUrl",
)
_CONTACT_URLS = (
    "contactGiftsUrl",
    "contactPassthroughGiftsUrl",
    "contactPlannedGiftsUrl",
    "contactRecurringGiftsUrl",
    "contactImportantNotesUrl",
    "contactNotesUrl",
    "contactTagsUrl",
    "contactRelationshipsUrl",
)
CONTACT = record(
    {
        "id": INT,
        "contactType": STRING,
        "isPrivate": BOOL,
        **{key: TEXT for key in _CONTACT_TEXT},
        "anniversaryMonth": MONTH,
        "anniversaryDay": DAY,
        "anniversaryYear": YEAR,
        "mergedIntoContactId": nullable(INT),
        "address": nullable(EMBEDDED_ADDRESS),  # the PRIMARY address only
        **{key: MONEY for key in ("giftAskAmount", "lifeToDateGiving", "yearToDateGiving")},
        "lastGiftAmount": MONEY,
        "lastGiftDate": GIFT_DATE,
        "contactIndividuals": array_of(INDIVIDUAL),
        **{key: API_URL for key in _CONTACT_URLS},
        "contactReferences": array_of(REFERENCE),
        "originSegmentId": nullable(INT),
        "originSegment": ANY_JSON,
        "tags": array_of(STRING),  # NAMES
        "organizationGroups": array_of(STRING),
        "customFields": array_of(CUSTOM_FIELD),
        "customCollections": ARRAY,
        **_AUDIT,
    },
    never=("isArchived",),  # accepted on create, never shown
)

# -- envelopes and error bodies: exact ---------------------------------------------------


def exact(properties: Mapping[str, Schema]) -> Schema:
    """An object with exactly these keys."""
    return {**record(properties), "additionalProperties": False}


MAX_TAKE = 1000  # "take at most 1,000" (the reference; not read from the sandbox)


def page(*, total: int | None = None, max_items: int = MAX_TAKE, item: Schema = CONTACT) -> Schema:
    """A Query answer ``{list, total}`` of ``item``s (full Contacts unless told);
    ``total`` pinned when the row knows it."""
    total_schema: Schema = {"type": "integer", "minimum": 0}
    if total is not None:
        total_schema = {**total_schema, "const": total}
    return exact({"list": array_of(item, max_items=max_items), "total": total_schema})


NON_EMPTY = {"type": "string", "minLength": 1}

MESSAGE = exact({"message": NON_EMPTY})  # 400 (malformed), 409, and the like
MODEL_STATE = exact(
    {
        "message": NON_EMPTY,
        # Keys are ASP.NET action-parameter paths: "contact.contactIndividuals[0].isDeceased".
        "modelState": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": r"^[a-z][A-Za-z]*([.\[].*)?$"},
            "additionalProperties": array_of(NON_EMPTY, min_items=1),
        },
    }
)
UNAUTHORISED = exact({"message": {"const": "Authorization has been denied for this request."}})
VALIDATION_FAILED = exact(
    {
        "error": exact(
            {
                "code": NON_EMPTY,
                "message": NON_EMPTY,
                "details": array_of(
                    exact({"field": NON_EMPTY, "code": NON_EMPTY, "message": NON_EMPTY}),
                    min_items=1,
                ),
            }
        )
    }
)


# -- what an error names: a row pins the field its request got wrong ----------------------


def model_state_naming(*keys: str) -> Schema:
    """MODEL_STATE whose ``modelState`` has (at least) these keys: a 400 for the right field."""
    return {"allOf": [MODEL_STATE, {"properties": {"modelState": {"required": list(keys)}}}]}


def validation_failed_on(field: str, code: str) -> Schema:
    """VALIDATION_FAILED with a detail for ``field`` of code ``code`` among its details."""
    detail = {
        "properties": {"field": {"const": field}, "code": {"const": code}},
        "required": ["code", "field"],
    }
    return {
        "allOf": [
            VALIDATION_FAILED,
            {"properties": {"error": {"properties": {"details": {"contains": detail}}}}},
        ]
    }
