"""Contract rows of the ContactAddress writes beyond GET/PUT (``rows_items``): POST (create,
``setAsPrimary``), PUT Archive and Unarchive, and promoting an archived address.

crmplus-api.md documents only GET/PUT of one address; the write shapes are those of the
public clients docs/sandbox.md ("Addresses") names: the body is the address plus
``contactId`` and ``setAsPrimary``, a create answers the address, Archive and Unarchive
take no body and answer 200 with an empty one.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.contract.case import Case, fixed, raw
from tests.sandbox.contract.rows_contact import MISSING
from tests.sandbox.contract.schemas import (
    ADDRESS,
    MESSAGE,
    having,
    model_state_naming,
    validation_failed_on,
)
from tests.sandbox.helpers import HOME_ADDRESS, SHOWCASE, WINTER_ADDRESS

CREATE = "/api/ContactAddress"
ARCHIVE_WINTER = f"/api/ContactAddress/Archive/{WINTER_ADDRESS}"

# Every key of the documented write body (the Ruby client's list).
NEW_ADDRESS: dict[str, Any] = {
    "contactId": SHOWCASE,
    "label": "Office",
    "address1": "1 Pearl St",
    "address2": "Suite 2",
    "city": "Boulder",
    "state": "co",
    "postal": "80302",
    "country": "United States",
    "setAsPrimary": False,
    "startMonth": 1,
    "startDay": 1,
    "endMonth": 12,
    "endDay": 31,
}


def _new_address(**changes: Any) -> dict[str, Any]:
    return {**NEW_ADDRESS, **changes}


def _archive_winter(client: httpx.Client) -> None:
    response = client.put(ARCHIVE_WINTER)
    assert response.status_code == 200, f"PUT {ARCHIVE_WINTER}: {response.status_code}"


ROWS = [
    # -- POST /api/ContactAddress -----------------------------------------------------------
    Case(
        "create-address",
        "POST",
        CREATE,
        200,
        # Normalised as every write: the US state code upper-cased; not the primary.
        having(ADDRESS, contactId=SHOWCASE, state="CO", isPrimary=False, canBePrimary=True),
        fixed(NEW_ADDRESS),
    ),
    Case(
        "create-address-as-primary",
        "POST",
        CREATE,
        200,
        having(ADDRESS, contactId=SHOWCASE, isPrimary=True, canBePrimary=False),
        fixed(_new_address(setAsPrimary=True)),
    ),
    Case(
        "create-address-minimal",  # what is not sent reads as the recorded response shows it
        "POST",
        CREATE,
        200,
        having(ADDRESS, city=None, postal=None, state="", country=""),
        fixed({"contactId": SHOWCASE, "address1": "2 Side St"}),
    ),
    Case(
        "create-address-without-contact-id",
        "POST",
        CREATE,
        400,
        model_state_naming("contactAddress.contactId"),
        fixed({k: v for k, v in NEW_ADDRESS.items() if k != "contactId"}),
    ),
    Case(
        "create-address-contact-id-as-string",
        "POST",
        CREATE,
        400,
        model_state_naming("contactAddress.contactId"),
        fixed(_new_address(contactId=str(SHOWCASE))),
    ),
    Case(
        "create-address-set-as-primary-as-string",
        "POST",
        CREATE,
        400,
        model_state_naming("contactAddress.setAsPrimary"),
        fixed(_new_address(setAsPrimary="true")),
    ),
    Case("create-address-malformed", "POST", CREATE, 400, MESSAGE, raw(b'{"contactId": 4821,')),
    Case(
        "create-address-month-out-of-range",
        "POST",
        CREATE,
        422,
        validation_failed_on("contactAddress.endMonth", "OutOfRange"),
        fixed(_new_address(endMonth=13)),
    ),
    Case(
        "create-address-unknown-contact",
        "POST",
        CREATE,
        404,
        None,
        fixed(_new_address(contactId=MISSING)),
    ),
    # -- PUT /api/ContactAddress/Archive/{id}, /Unarchive/{id}: no body; 200, empty ----------
    Case("archive-address", "PUT", ARCHIVE_WINTER, 200, None),
    Case(
        "archive-address-primary",  # promote another first: never a contact without one
        "PUT",
        f"/api/ContactAddress/Archive/{HOME_ADDRESS}",
        422,
        validation_failed_on("contactAddress.isPrimary", "PrimaryAddress"),
    ),
    Case("archive-address-unknown", "PUT", f"/api/ContactAddress/Archive/{MISSING}", 404, None),
    Case(
        "unarchive-address",
        "PUT",
        f"/api/ContactAddress/Unarchive/{WINTER_ADDRESS}",
        200,
        None,
        before=_archive_winter,
    ),
    Case(
        "unarchive-address-live",  # unarchiving what is not archived is harmless
        "PUT",
        f"/api/ContactAddress/Unarchive/{WINTER_ADDRESS}",
        200,
        None,
    ),
    Case("unarchive-address-unknown", "PUT", f"/api/ContactAddress/Unarchive/{MISSING}", 404, None),
    # -- PUT /api/ContactAddress/{id} with setAsPrimary on an archived address ---------------
    Case(
        "put-address-archived-as-primary",
        "PUT",
        f"/api/ContactAddress/{WINTER_ADDRESS}",
        422,
        validation_failed_on("contactAddress.setAsPrimary", "ArchivedAddress"),
        fixed({"address1": "Winter Lodge", "setAsPrimary": True}),
        before=_archive_winter,
    ),
]
