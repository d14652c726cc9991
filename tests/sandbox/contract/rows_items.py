"""Contract rows of the sub-resources: ContactAddress (GET, PUT, ByContact) and
ContactIndividual (GET, PUT)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.contract.case import BodyBuilder, Case, changed, echo, fixed
from tests.sandbox.contract.rows_contact import MISSING, OTHER_CONTACTS_EMAIL
from tests.sandbox.contract.schemas import (
    ADDRESS,
    INDIVIDUAL,
    MESSAGE,
    MODEL_STATE,
    PRIMARY,
    VALIDATION_FAILED,
    array_of,
    exactly_one,
    having,
)
from tests.sandbox.helpers import (
    ELEANOR,
    ELEANOR_WORK_EMAIL,
    SHOWCASE,
    THOMAS_HOME_EMAIL,
    WINTER_ADDRESS,
    by_id,
)

ADDRESS_PATH = f"/api/ContactAddress/{WINTER_ADDRESS}"
INDIVIDUAL_PATH = f"/api/ContactIndividual/{ELEANOR}"


def _method_value(method_id: int, value: str) -> BodyBuilder:
    def edit(body: dict[str, Any]) -> None:
        by_id(body["contactMethods"], method_id)["value"] = value

    return echo(INDIVIDUAL_PATH, edit)


def _foreign_method(body: dict[str, Any]) -> None:
    # A method id of Thomas sent under Eleanor: not this individual's.
    body["contactMethods"][0]["id"] = THOMAS_HOME_EMAIL


ROWS = [
    # -- ContactAddress ---------------------------------------------------------------------
    Case(
        "get-address",
        "GET",
        ADDRESS_PATH,
        200,
        having(ADDRESS, id=WINTER_ADDRESS, contactId=SHOWCASE),
    ),
    Case("get-address-unknown", "GET", f"/api/ContactAddress/{MISSING}", 404, None),
    Case("put-address-echo", "PUT", ADDRESS_PATH, 200, ADDRESS, echo(ADDRESS_PATH)),
    Case(
        "put-address-changed",
        "PUT",
        ADDRESS_PATH,
        200,
        having(ADDRESS, city="Vail", startMonth=11, endDay=15),
        changed(ADDRESS_PATH, city="Vail", startMonth=11, endDay=15),
    ),
    Case(
        "put-address-partial",  # replace clears state and country to "", never null (ADDRESS)
        "PUT",
        ADDRESS_PATH,
        200,
        ADDRESS,
        fixed({"address1": "1 Pearl St", "city": "Naples"}),
    ),
    Case(
        "put-address-int-as-string",
        "PUT",
        ADDRESS_PATH,
        400,
        MODEL_STATE,
        changed(ADDRESS_PATH, startMonth="1"),
    ),
    Case(
        "put-address-day-out-of-range",
        "PUT",
        ADDRESS_PATH,
        422,
        VALIDATION_FAILED,
        changed(ADDRESS_PATH, endDay=32),
    ),
    Case(
        "put-address-unknown",
        "PUT",
        f"/api/ContactAddress/{MISSING}",
        404,
        None,
        fixed({"city": "Nowhere"}),
    ),
    Case(
        "addresses-by-contact",
        "GET",
        f"/api/ContactAddress/ByContact/{SHOWCASE}",
        200,
        # Every address, the primary included: exactly one is primary.
        exactly_one(array_of(having(ADDRESS, contactId=SHOWCASE), min_items=2), PRIMARY),
    ),
    Case(
        "addresses-by-unknown-contact", "GET", f"/api/ContactAddress/ByContact/{MISSING}", 404, None
    ),
    # -- ContactIndividual ------------------------------------------------------------------
    Case(
        "get-individual",
        "GET",
        INDIVIDUAL_PATH,
        200,
        having(INDIVIDUAL, id=ELEANOR, contactId=SHOWCASE),
    ),
    Case("get-individual-unknown", "GET", f"/api/ContactIndividual/{MISSING}", 404, None),
    Case("put-individual-echo", "PUT", INDIVIDUAL_PATH, 200, INDIVIDUAL, echo(INDIVIDUAL_PATH)),
    Case(
        "put-individual-changed",
        "PUT",
        INDIVIDUAL_PATH,
        200,
        having(INDIVIDUAL, birthDate="9/4/1958", isDeceased=True, deceasedDate="3/1/2024"),
        changed(
            INDIVIDUAL_PATH,
            birthMonth=9,
            birthDay=4,
            birthYear=1958,
            isDeceased=True,
            deceasedDate="2024-03-01",  # written ISO, read "M/D/YYYY"
        ),
    ),
    Case(
        "put-individual-partial",  # replace clears the rest: "" dates, null ints, false bools
        "PUT",
        INDIVIDUAL_PATH,
        200,
        having(INDIVIDUAL, firstName="Nell"),
        fixed({"firstName": "Nell"}),
    ),
    Case(
        "put-individual-int-as-string",
        "PUT",
        INDIVIDUAL_PATH,
        400,
        MODEL_STATE,
        changed(INDIVIDUAL_PATH, birthYear="1957"),
    ),
    Case(
        "put-individual-read-date-format",  # the read format is not accepted back
        "PUT",
        INDIVIDUAL_PATH,
        400,
        MODEL_STATE,
        changed(INDIVIDUAL_PATH, deceasedDate="3/1/2024"),
    ),
    Case(
        "put-individual-foreign-method-id",
        "PUT",
        INDIVIDUAL_PATH,
        400,
        MODEL_STATE,
        echo(INDIVIDUAL_PATH, _foreign_method),
    ),
    Case(
        "put-individual-month-out-of-range",
        "PUT",
        INDIVIDUAL_PATH,
        422,
        VALIDATION_FAILED,
        changed(INDIVIDUAL_PATH, birthMonth=0),
    ),
    Case(
        "put-individual-email-of-another",
        "PUT",
        INDIVIDUAL_PATH,
        409,
        MESSAGE,
        _method_value(ELEANOR_WORK_EMAIL, OTHER_CONTACTS_EMAIL),
    ),
    Case(
        "put-individual-unknown",
        "PUT",
        f"/api/ContactIndividual/{MISSING}",
        404,
        None,
        fixed({"firstName": "Nobody"}),
    ),
]
