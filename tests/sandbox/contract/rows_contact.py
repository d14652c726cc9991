"""Contract rows of the Contact routes: GET, PUT, POST (create-only shapes), Find, Archive."""

from __future__ import annotations

from typing import Any

from tests.sandbox.contract.case import BodyBuilder, Case, changed, echo, fixed, raw
from tests.sandbox.contract.schemas import (
    CONTACT,
    MESSAGE,
    MODEL_STATE,
    VALIDATION_FAILED,
    having,
)
from tests.sandbox.helpers import (
    ARCHIVED_CONTACT,
    ELEANOR,
    ELEANOR_WORK_EMAIL,
    SHOWCASE,
    by_id,
)

MISSING = 999_999  # no contact, individual or address has this id
CONTACT_PATH = f"/api/Contact/{SHOWCASE}"
OTHER_CONTACTS_EMAIL = "Maria.Alvarez@Example.org"  # 4817's, in another case
OTHER_CONTACTS_INDIVIDUAL = 48171  # Maria Alvarez, of 4817


def _eleanor(body: dict[str, Any]) -> dict[str, Any]:
    individual: dict[str, Any] = by_id(body["contactIndividuals"], ELEANOR)
    return individual


def _work_email(value: str) -> BodyBuilder:
    def edit(body: dict[str, Any]) -> None:
        by_id(_eleanor(body)["contactMethods"], ELEANOR_WORK_EMAIL)["value"] = value

    return echo(CONTACT_PATH, edit)


def _foreign_individual(body: dict[str, Any]) -> None:
    _eleanor(body)["id"] = OTHER_CONTACTS_INDIVIDUAL


def _nested_wrong_type(body: dict[str, Any]) -> None:
    _eleanor(body)["isDeceased"] = "false"


# Every create-only shape of the reference in one body.
FULL_CREATE: dict[str, Any] = {
    "contactType": "Household",
    "name": "The Contract Household",
    "isPrivate": False,
    "anniversaryMonth": 6,
    "anniversaryDay": 14,
    "anniversaryYear": 2001,
    "isArchived": True,
    "referenceSource": "PartnerPlatform",
    "referenceId": "PP-CONTRACT-1",
    "customFields": {"Shirt Size": "XL", "Volunteer Interest": None},
    "tags": ["Contract"],
    "contactAddresses": [
        {"address1": "1 Main St", "city": "Denver", "stateCode": "co", "countryCode": "US"},
        {
            "address1": "9 Lake Rd",
            "city": "Aspen",
            "stateCode": "CO",
            "countryCode": "USA",
            "isPrimary": True,
        },
    ],
    "contactIndividuals": [
        {
            "firstName": "Casey",
            "lastName": "Contract",
            "isPrimary": True,
            "birthMonth": 2,
            "birthDay": 29,
            "birthYear": 1996,
            "isDeceased": False,
            "contactMethods": [
                {"type": "Home Email", "value": "casey@contract.example", "isPrimary": True},
                {"type": "Mobile Phone", "value": "555-0100", "isOptedIn": True},
            ],
        }
    ],
}
MINIMAL_CREATE = {"contactType": "Organization", "name": "Contract Books"}

ROWS = [
    # -- GET /api/Contact/{id} -------------------------------------------------------------
    Case("get-contact", "GET", CONTACT_PATH, 200, having(CONTACT, id=SHOWCASE)),
    Case("get-contact-archived", "GET", f"/api/Contact/{ARCHIVED_CONTACT}", 200, CONTACT),
    Case("get-contact-unknown", "GET", f"/api/Contact/{MISSING}", 404, None),
    # -- PUT /api/Contact/{id} -------------------------------------------------------------
    Case("put-contact-echo", "PUT", CONTACT_PATH, 200, CONTACT, echo(CONTACT_PATH)),
    Case(
        "put-contact-changed",
        "PUT",
        CONTACT_PATH,
        200,
        having(CONTACT, informalName="The Whitfields", isPrivate=True, anniversaryYear=1988),
        changed(CONTACT_PATH, informalName="The Whitfields", isPrivate=True, anniversaryYear=1988),
    ),
    # Under replace the omitted address and individuals go: ``address: null`` conforms.
    Case(
        "put-contact-partial",
        "PUT",
        CONTACT_PATH,
        200,
        CONTACT,
        fixed({"contactType": "Household", "name": "The Whitfield Household", "website": "x"}),
    ),
    # "Unknown keys appear over time: parse tolerantly, keep them, and send them back";
    # ``isArchived`` in a PUT is ignored (Archive/Unarchive), and never shown.
    Case(
        "put-contact-unknown-keys-and-is-archived",
        "PUT",
        CONTACT_PATH,
        200,
        CONTACT,
        changed(CONTACT_PATH, futureKey={"nested": [1]}, isArchived=True),
    ),
    Case("put-contact-malformed", "PUT", CONTACT_PATH, 400, MESSAGE, raw(b'{"name": "x",}')),
    Case(
        "put-contact-bool-as-string",
        "PUT",
        CONTACT_PATH,
        400,
        MODEL_STATE,
        changed(CONTACT_PATH, isPrivate="true"),
    ),
    Case(
        "put-contact-int-as-string",
        "PUT",
        CONTACT_PATH,
        400,
        MODEL_STATE,
        changed(CONTACT_PATH, anniversaryYear="2010"),
    ),
    Case(
        "put-contact-nested-wrong-type",
        "PUT",
        CONTACT_PATH,
        400,
        MODEL_STATE,
        echo(CONTACT_PATH, _nested_wrong_type),
    ),
    Case(
        "put-contact-foreign-item-id",
        "PUT",
        CONTACT_PATH,
        400,
        MODEL_STATE,
        echo(CONTACT_PATH, _foreign_individual),
    ),
    Case(
        "put-contact-invalid-email",
        "PUT",
        CONTACT_PATH,
        422,
        VALIDATION_FAILED,
        _work_email("not-an-email"),
    ),
    Case(
        "put-contact-month-out-of-range",
        "PUT",
        CONTACT_PATH,
        422,
        VALIDATION_FAILED,
        changed(CONTACT_PATH, anniversaryMonth=13),
    ),
    Case(
        "put-contact-email-of-another",
        "PUT",
        CONTACT_PATH,
        409,
        MESSAGE,
        _work_email(OTHER_CONTACTS_EMAIL),
    ),
    Case("put-contact-unknown", "PUT", f"/api/Contact/{MISSING}", 404, None, fixed(MINIMAL_CREATE)),
    # -- POST /api/Contact (create-only shapes) ---------------------------------------------
    Case("create-minimal", "POST", "/api/Contact", 200, CONTACT, fixed(MINIMAL_CREATE)),
    Case(
        "create-every-create-only-shape",
        "POST",
        "/api/Contact",
        200,
        having(CONTACT, name="The Contract Household"),  # and no isArchived (CONTACT)
        fixed(FULL_CREATE),
    ),
    Case(
        "create-address-without-country",
        "POST",
        "/api/Contact",
        200,
        CONTACT,
        fixed({**MINIMAL_CREATE, "contactAddresses": [{"address1": "2 Side St"}]}),
    ),
    Case(
        "create-custom-fields-as-list",  # the GET shape is not the create shape
        "POST",
        "/api/Contact",
        400,
        MODEL_STATE,
        fixed({**MINIMAL_CREATE, "customFields": [{"name": "Shirt Size", "value": "M"}]}),
    ),
    Case(
        "create-bool-as-string",
        "POST",
        "/api/Contact",
        400,
        MODEL_STATE,
        fixed({**MINIMAL_CREATE, "isArchived": "false"}),
    ),
    Case("create-malformed", "POST", "/api/Contact", 400, MESSAGE, raw(b"{not json")),
    Case(
        "create-unknown-contact-type",
        "POST",
        "/api/Contact",
        422,
        VALIDATION_FAILED,
        fixed({**MINIMAL_CREATE, "contactType": "Family"}),
    ),
    Case(
        "create-email-of-another",
        "POST",
        "/api/Contact",
        409,
        MESSAGE,
        fixed(
            {
                **MINIMAL_CREATE,
                "contactIndividuals": [
                    {
                        "firstName": "Dup",
                        "contactMethods": [{"type": "Work Email", "value": OTHER_CONTACTS_EMAIL}],
                    }
                ],
            }
        ),
    ),
    # -- GET /api/Contact/Find --------------------------------------------------------------
    Case(
        "find-by-email",
        "GET",
        "/api/Contact/Find",
        200,
        having(CONTACT, id=SHOWCASE),
        params={"email": "ELEANOR.Whitfield@example.org"},
    ),
    Case(
        "find-by-reference",
        "GET",
        "/api/Contact/Find",
        200,
        having(CONTACT, id=SHOWCASE),
        params={"referenceSource": "PartnerPlatform", "referenceId": "PP-10021"},
    ),
    Case(
        "find-nothing",
        "GET",
        "/api/Contact/Find",
        404,
        None,
        params={"email": "nobody@example.org"},
    ),
    Case(
        "find-without-a-key",
        "GET",
        "/api/Contact/Find",
        400,
        MESSAGE,
        params={"referenceSource": "PartnerPlatform"},
    ),
    # -- PUT /api/Contact/Archive/{id}, /Unarchive/{id}: 200, empty -------------------------
    Case("archive", "PUT", f"/api/Contact/Archive/{SHOWCASE}", 200, None),
    Case("unarchive", "PUT", f"/api/Contact/Unarchive/{ARCHIVED_CONTACT}", 200, None),
    Case("archive-unknown", "PUT", f"/api/Contact/Archive/{MISSING}", 404, None),
]
