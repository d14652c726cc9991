"""Contract rows of the lookups: by reference, Contact/Search, ContactIndividual Find and
ByContact, Contact/Types, Organization.

crmplus-api.md does not document these routes: the schemas below are the shapes of the
public sources docs/sandbox.md ("Lookups") names, kept as loose as those sources are
(records require their keys and allow others).
"""

from __future__ import annotations

from tests.sandbox.contract.case import Case, fixed
from tests.sandbox.contract.rows_contact import MISSING
from tests.sandbox.contract.schemas import (
    BOOL,
    CONTACT,
    INDIVIDUAL,
    INT,
    MAX_TAKE,
    MESSAGE,
    STRING,
    TEXT,
    Schema,
    array_of,
    exact,
    having,
    record,
)
from tests.sandbox.helpers import ELEANOR, SHOWCASE, THOMAS

# Live Contacts carry two booleans the recorded fixture predates.
LIVE_CONTACT: Schema = {
    "allOf": [CONTACT, record({"isCurrentUserFollowing": BOOL, "nameFieldsLocked": BOOL})]
}
# ``ContactListItem`` (virtuous-ts; a list recorded from the live API in chrispymm's cassettes).
LIST_ITEM = record(
    {
        "id": INT,
        "name": TEXT,
        "contactType": STRING,
        "contactName": TEXT,
        "address": TEXT,
        "email": TEXT,
        "phone": TEXT,
        "contactViewUrl": STRING,
    }
)
CONTACT_TYPE = exact({"parentType": STRING, "type": STRING})
ORGANIZATION = record({"id": INT, "name": STRING})

BY_REFERENCE = "/api/Contact/PartnerPlatform/PP-10021"
BY_REFERENCE_ID = "/api/Contact/ByReference/PP-10021"
SEARCH = "/api/Contact/Search"
FIND_INDIVIDUAL = "/api/ContactIndividual/Find"


def search_page(total: int) -> Schema:
    count = {"type": "integer", "const": total}
    return exact({"list": array_of(LIST_ITEM, max_items=MAX_TAKE), "total": count})


ROWS = [
    # -- by reference -----------------------------------------------------------------------
    Case("get-by-reference", "GET", BY_REFERENCE, 200, having(LIVE_CONTACT, id=SHOWCASE)),
    Case("get-by-reference-unknown", "GET", "/api/Contact/PartnerPlatform/PP-0", 404, None),
    Case("get-by-reference-id", "GET", BY_REFERENCE_ID, 200, having(LIVE_CONTACT, id=SHOWCASE)),
    Case("get-by-reference-id-unknown", "GET", "/api/Contact/ByReference/PP-0", 404, None),
    # A path another route owns keeps its 405: the lookup is all parameters.
    Case("get-on-the-archive-path", "GET", f"/api/Contact/Archive/{SHOWCASE}", 405, MESSAGE),
    # -- Contact/Search ---------------------------------------------------------------------
    Case(
        "search",
        "POST",
        SEARCH,
        200,
        search_page(total=1),
        fixed({"search": "Whitfield"}),
        params={"skip": "0", "take": "10"},
    ),
    Case("search-no-match", "POST", SEARCH, 200, search_page(total=0), fixed({"search": "zzz"})),
    Case("search-blank", "POST", SEARCH, 400, MESSAGE, fixed({"search": " "})),
    Case("search-not-a-string", "POST", SEARCH, 400, MESSAGE, fixed({"search": 42})),
    Case(
        "search-take-too-large",
        "POST",
        SEARCH,
        400,
        MESSAGE,
        fixed({"search": "Whitfield"}),
        params={"take": str(MAX_TAKE + 1)},
    ),
    # -- ContactIndividual ------------------------------------------------------------------
    Case(
        "find-individual",
        "GET",
        FIND_INDIVIDUAL,
        200,
        having(INDIVIDUAL, id=ELEANOR, contactId=SHOWCASE),
        params={"email": "eleanor.whitfield@example.org"},
    ),
    Case(
        "find-individual-unknown",
        "GET",
        FIND_INDIVIDUAL,
        404,
        None,
        params={"email": "nobody@example.org"},
    ),
    Case("find-individual-no-email", "GET", FIND_INDIVIDUAL, 400, MESSAGE),
    Case(
        "individuals-by-contact",
        "GET",
        f"/api/ContactIndividual/ByContact/{SHOWCASE}",
        200,
        {
            **array_of(INDIVIDUAL, min_items=2, max_items=2),
            "prefixItems": [having(INDIVIDUAL, id=ELEANOR), having(INDIVIDUAL, id=THOMAS)],
        },
    ),
    Case(
        "individuals-by-contact-unknown",
        "GET",
        f"/api/ContactIndividual/ByContact/{MISSING}",
        404,
        None,
    ),
    # -- reference lists ---------------------------------------------------------------------
    Case("contact-types", "GET", "/api/Contact/Types", 200, array_of(CONTACT_TYPE, min_items=3)),
    Case("organization", "GET", "/api/Organization", 200, array_of(ORGANIZATION, min_items=1)),
]
