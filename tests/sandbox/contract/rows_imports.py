"""Contract rows of the imports: POST /api/Contact/Transaction and /Batch.

crmplus-api.md does not document these routes; the flat transaction is the shape of
docs.virtuous.org and the vendor's n8n node (docs/sandbox.md, "Imports"). Accepting
answers 200 with an EMPTY body (the contact does not exist yet, so there is no id); a
refusal is the same 400 / 422 as any write, under ``contactTransaction.`` or
``contactBatch.contacts[i].``, and refuses a batch whole.
"""

from __future__ import annotations

from typing import Any

from tests.sandbox.contract.case import Case, fixed, raw
from tests.sandbox.contract.rows_contact import OTHER_CONTACTS_EMAIL
from tests.sandbox.contract.schemas import MESSAGE, model_state_naming, validation_failed_on

TRANSACTION = "/api/Contact/Transaction"
BATCH = "/api/Contact/Batch"
BATCH_LIMIT = 100  # the sandbox's own bound (none is published; docs/sandbox.md)

DONOR: dict[str, Any] = {
    "referenceSource": "Shop",
    "referenceId": "C-1",
    "firstName": "Rosa",
    "lastName": "Medina",
    "emailType": "Home Email",
    "email": "rosa@contract.example",
}
# Every documented key of the flat shape, each of its type.
EVERY_KEY: dict[str, Any] = {
    **DONOR,
    "contactType": "Household",
    "name": "The Medina Household",
    "title": "Ms.",
    "middleName": "A",
    "suffix": "",
    "gender": "Female",
    "birthMonth": 2,
    "birthDay": 29,
    "birthYear": 1996,
    "phoneType": "Mobile Phone",
    "phone": "555-0142",
    "address1": "7 Canal St",
    "address2": None,
    "city": "Boulder",
    "state": "CO",
    "postal": "80302",
    "country": "US",
    "eventId": 12,
    "eventName": "Gala",
    "invited": True,
    "rsvp": True,
    "rsvpResponse": False,
    "attended": False,
    "tags": "Donor;Volunteer",
    "originSegmentCode": "WEB",
    "emailLists": ["Newsletter"],
    "customFields": {"Shirt Size": "M"},
    "customObjects": [{"name": "Volunteer Shifts", "fields": [{"name": "Role", "value": "Usher"}]}],
    "volunteerAttendances": [],
}


def _donor(number: int, **changes: Any) -> dict[str, Any]:
    return {
        **{k: v for k, v in DONOR.items() if k != "referenceSource"},
        "referenceId": f"C-{number}",
        "email": f"donor{number}@contract.example",
        **changes,
    }


def _batch(*contacts: dict[str, Any]) -> dict[str, Any]:
    return {"referenceSource": "Shop", "contacts": list(contacts)}


ROWS = [
    # -- POST /api/Contact/Transaction --------------------------------------------------------
    Case("import-transaction", "POST", TRANSACTION, 200, None, fixed(DONOR)),
    Case("import-transaction-every-key", "POST", TRANSACTION, 200, None, fixed(EVERY_KEY)),
    Case(
        # Ownership is checked when the import is APPLIED (its entry then holds the 409):
        # the answer to the POST is never a 409.
        "import-transaction-email-of-another",
        "POST",
        TRANSACTION,
        200,
        None,
        fixed({**DONOR, "email": OTHER_CONTACTS_EMAIL}),
    ),
    Case("import-transaction-malformed", "POST", TRANSACTION, 400, MESSAGE, raw(b'{"email": ')),
    Case(
        "import-transaction-int-as-string",
        "POST",
        TRANSACTION,
        400,
        model_state_naming("contactTransaction.birthYear"),
        fixed({**DONOR, "birthYear": "1980"}),
    ),
    Case(
        "import-transaction-tags-as-list",  # one ";"-separated string, not a list
        "POST",
        TRANSACTION,
        400,
        model_state_naming("contactTransaction.tags"),
        fixed({**DONOR, "tags": ["Donor", "Volunteer"]}),
    ),
    Case(
        "import-transaction-invalid-email",
        "POST",
        TRANSACTION,
        422,
        validation_failed_on("contactTransaction.email", "InvalidEmail"),
        fixed({**DONOR, "email": "not-an-email"}),
    ),
    Case(
        "import-transaction-unknown-custom-field",
        "POST",
        TRANSACTION,
        422,
        validation_failed_on("contactTransaction.customFields.Hat Size", "UnknownCustomField"),
        fixed({**DONOR, "customFields": {"Hat Size": "L"}}),
    ),
    Case(
        "import-transaction-unknown-collection",
        "POST",
        TRANSACTION,
        422,
        validation_failed_on("contactTransaction.customObjects[0].name", "UnknownCustomCollection"),
        fixed({**DONOR, "customObjects": [{"name": "Hobbies", "fields": []}]}),
    ),
    # -- POST /api/Contact/Batch ----------------------------------------------------------------
    Case("import-batch", "POST", BATCH, 200, None, fixed(_batch(_donor(1), _donor(2)))),
    Case(
        "import-batch-at-the-limit",
        "POST",
        BATCH,
        200,
        None,
        fixed(_batch(*(_donor(n) for n in range(BATCH_LIMIT)))),
    ),
    Case("import-batch-malformed", "POST", BATCH, 400, MESSAGE, raw(b'{"contacts": [}')),
    Case(
        "import-batch-empty",
        "POST",
        BATCH,
        400,
        model_state_naming("contactBatch.contacts"),
        fixed(_batch()),
    ),
    Case(
        "import-batch-over-the-limit",
        "POST",
        BATCH,
        400,
        model_state_naming("contactBatch.contacts"),
        fixed(_batch(*(_donor(n) for n in range(BATCH_LIMIT + 1)))),
    ),
    Case(
        "import-batch-contacts-not-an-array",
        "POST",
        BATCH,
        400,
        model_state_naming("contactBatch.contacts"),
        fixed({"referenceSource": "Shop", "contacts": _donor(1)}),
    ),
    Case(
        "import-batch-item-wrong-type",  # one bad item refuses the batch whole
        "POST",
        BATCH,
        400,
        model_state_naming("contactBatch.contacts[1].birthYear"),
        fixed(_batch(_donor(1), _donor(2, birthYear="x"))),
    ),
    Case(
        "import-batch-item-invalid",
        "POST",
        BATCH,
        422,
        validation_failed_on("contactBatch.contacts[1].email", "InvalidEmail"),
        fixed(_batch(_donor(1), _donor(2, email="bad"))),
    ),
]
