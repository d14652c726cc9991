"""Contract rows of what every route shares: 401 without a valid token, 429 with
Retry-After past the hourly budget, the empty 404 of an unknown route."""

from __future__ import annotations

import httpx

from tests.sandbox.contract.case import Auth, Case, fixed
from tests.sandbox.contract.rows_contact import CONTACT_PATH, MINIMAL_CREATE
from tests.sandbox.contract.schemas import ANY_JSON, UNAUTHORISED
from tests.sandbox.helpers import ELEANOR

# A sandbox of its own whose whole budget is one request, spent by ``_spend_budget``.
ONE_REQUEST_AN_HOUR = {"hourly_limit": 1}


def _spend_budget(client: httpx.Client) -> None:
    assert client.get(CONTACT_PATH).status_code == 200


ROWS = [
    Case("no-token", "GET", CONTACT_PATH, 401, UNAUTHORISED, auth=Auth.NONE),
    Case("wrong-token", "GET", CONTACT_PATH, 401, UNAUTHORISED, auth=Auth.WRONG),
    Case(
        "wrong-token-write",
        "POST",
        "/api/Contact",
        401,
        UNAUTHORISED,
        fixed(MINIMAL_CREATE),
        auth=Auth.WRONG,
    ),
    # The reference documents only the Retry-After header of a 429: any JSON body is fine.
    Case(
        "over-the-budget",
        "GET",
        f"/api/ContactIndividual/{ELEANOR}",
        429,
        ANY_JSON,
        headers=("Retry-After",),
        settings=ONE_REQUEST_AN_HOUR,
        before=_spend_budget,
    ),
    Case(
        "over-the-budget-write",
        "PUT",
        CONTACT_PATH,
        429,
        ANY_JSON,
        fixed({"name": "Too late"}),
        headers=("Retry-After",),
        settings=ONE_REQUEST_AN_HOUR,
        before=_spend_budget,
    ),
    Case("unknown-route", "GET", "/api/Nowhere/1", 404, None),
]
