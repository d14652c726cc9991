"""Contract rows of the contact query routes: POST /api/Contact/Query/FullContact (the
documented body, ``{list, total}``, ``take`` at most 1000, archived contacts only with
``includeArchived``), POST /api/Contact/Query (the same body, abbreviated items) and
GET /api/Contact/QueryOptions.

crmplus-api.md documents only FullContact. The abbreviated item is ``LIST_ITEM`` (the
lookups' ``ContactListItem``); the QueryOptions shape is a recorded live answer
(docs/sandbox.md, "Query language", names both sources)."""

from __future__ import annotations

from typing import Any

from tests.sandbox.contract.case import Case, fixed, raw
from tests.sandbox.contract.rows_lookups import LIST_ITEM
from tests.sandbox.contract.schemas import (
    ANY_JSON,
    BOOL,
    MAX_TAKE,
    MESSAGE,
    NON_EMPTY,
    STRING,
    Schema,
    array_of,
    exact,
    having,
    page,
    record,
)
from tests.sandbox.helpers import LIVE_IDS, SHOWCASE

QUERY = "/api/Contact/Query/FullContact"
ABBREVIATED = "/api/Contact/Query"
QUERY_OPTIONS = "/api/Contact/QueryOptions"
EVERY_CONTACT = len(LIVE_IDS) + 1  # the archived one too


def condition(parameter: str, operator: str, value: Any, secondary: Any = None) -> dict[str, Any]:
    """A condition with every documented key, as clients generated from the spec send it."""
    return {
        "parameter": parameter,
        "operator": operator,
        "value": value,
        "secondaryValue": secondary,
        "values": [],
    }


def query(*conditions: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {
        "groups": [{"conditions": list(conditions)}] if conditions else [],
        "sortBy": "Contact Id",
        "descending": False,
        "includeArchived": False,
        **options,
    }


# The keyset page the reference recommends: Contact Id GreaterThan the last id, take=1000.
KEYSET = query(condition("Contact Id", "GreaterThan", "0"))
MODIFIED_WINDOW = query(
    condition("Last Modified Date", "Between", "2024-01-01", "2024-12-31"),
    sortBy="Last Modified Date",
    descending=True,
    includeArchived=True,
)

# The recorded live QueryOptions answer (taylorbrooks/virtuous,
# spec/support/fixtures/gift_designation_query_options.json): items are records, the
# envelope is exact. ``type`` is left open: the live list has types ("Decimal") no
# contact parameter here uses.
OPERATOR_OPTION = record(
    {"operator": NON_EMPTY, "multipleValuesAllowed": BOOL, "valueRequired": BOOL}
)
QUERY_OPTION = record(
    {
        "parameter": NON_EMPTY,
        "type": NON_EMPTY,
        "operatorOptions": array_of(OPERATOR_OPTION, min_items=1),
        "valueOptions": array_of(STRING),
    }
)
OPTIONS = exact(
    {
        "options": array_of(QUERY_OPTION, min_items=1),
        "operatorOptions": array_of(OPERATOR_OPTION, min_items=1),
    }
)


def offering(parameter: str, kind: str, operator: str) -> Schema:
    """A QueryOptions answer listing ``parameter`` of type ``kind`` with ``operator``."""
    option = {
        "allOf": [
            having(QUERY_OPTION, parameter=parameter, type=kind),
            {
                "properties": {
                    "operatorOptions": {"contains": having(OPERATOR_OPTION, operator=operator)}
                }
            },
        ]
    }
    return {"properties": {"options": {"contains": option}}}


# -- POST /api/Contact/Query/FullContact ----------------------------------------------
FULL_CONTACT_ROWS = [
    Case(
        "query-keyset-page",
        "POST",
        QUERY,
        200,
        page(total=len(LIVE_IDS)),
        fixed(KEYSET),
        params={"skip": "0", "take": str(MAX_TAKE)},
    ),
    Case(
        "query-include-archived",
        "POST",
        QUERY,
        200,
        page(total=EVERY_CONTACT),
        fixed(query(includeArchived=True)),
        params={"take": str(MAX_TAKE)},
    ),
    Case(
        "query-modified-between",
        "POST",
        QUERY,
        200,
        page(),
        fixed(MODIFIED_WINDOW),
        params={"take": "3"},
    ),
    Case(
        "query-id-between-as-numbers",  # values as numbers, inclusive bounds
        "POST",
        QUERY,
        200,
        page(total=4),
        fixed(query(condition("Contact Id", "Between", 4818, 4821))),
    ),
    Case(
        "query-two-groups-read-date-format",  # groups OR; "M/D/YYYY" values too
        "POST",
        QUERY,
        200,
        page(),
        fixed(
            query(
                groups=[
                    {"conditions": [condition("Last Modified Date", "OnOrAfter", "3/1/2024")]},
                    {"conditions": [condition("Contact Id", "Is", "4817")]},
                ]
            )
        ),
    ),
    Case(
        "query-short-page",
        "POST",
        QUERY,
        200,
        page(total=len(LIVE_IDS), max_items=2),
        fixed(KEYSET),
        params={"skip": "2", "take": "2"},
    ),
    Case(
        "query-take-above-1000",
        "POST",
        QUERY,
        400,
        MESSAGE,
        fixed(KEYSET),
        params={"take": str(MAX_TAKE + 1)},
    ),
    Case(
        "query-unknown-parameter",
        "POST",
        QUERY,
        400,
        MESSAGE,
        fixed(query(condition("Favourite Colour", "Is", "Blue"))),
    ),
    Case("query-malformed", "POST", QUERY, 400, MESSAGE, raw(b"{groups: []}")),
    # "Large skip values are reported to cause 500s"; the body is "anything".
    Case(
        "query-huge-skip",
        "POST",
        QUERY,
        500,
        ANY_JSON,
        fixed(KEYSET),
        params={"skip": "100000", "take": "10"},
    ),
]

# -- POST /api/Contact/Query: the same body and paging, abbreviated items ----------------
ABBREVIATED_ROWS = [
    Case(
        "query-abbreviated-keyset-page",
        "POST",
        ABBREVIATED,
        200,
        page(total=len(LIVE_IDS), item=LIST_ITEM),
        fixed(KEYSET),
        params={"skip": "0", "take": str(MAX_TAKE)},
    ),
    Case(
        "query-abbreviated-one",
        "POST",
        ABBREVIATED,
        200,
        page(
            total=1,
            item=having(
                LIST_ITEM, id=SHOWCASE, name="The Whitfield Household", contactType="Household"
            ),
        ),
        fixed(query(condition("Contact Id", "Is", str(SHOWCASE)))),
    ),
    Case(
        "query-abbreviated-short-page",
        "POST",
        ABBREVIATED,
        200,
        page(total=len(LIVE_IDS), max_items=2, item=LIST_ITEM),
        fixed(KEYSET),
        params={"skip": "2", "take": "2"},
    ),
    Case(
        "query-abbreviated-take-above-1000",
        "POST",
        ABBREVIATED,
        400,
        MESSAGE,
        fixed(KEYSET),
        params={"take": str(MAX_TAKE + 1)},
    ),
    Case(
        "query-abbreviated-operator-not-listed",  # QueryOptions lists no IsKnown for names
        "POST",
        ABBREVIATED,
        400,
        MESSAGE,
        fixed(query(condition("Contact Name", "IsKnown", None))),
    ),
    Case(
        "query-abbreviated-groups-not-an-array",
        "POST",
        ABBREVIATED,
        400,
        MESSAGE,
        fixed({"groups": "Contact Id > 0"}),
    ),
    Case("query-abbreviated-malformed", "POST", ABBREVIATED, 400, MESSAGE, raw(b"{groups: []}")),
    Case(
        "query-abbreviated-huge-skip",
        "POST",
        ABBREVIATED,
        500,
        ANY_JSON,
        fixed(KEYSET),
        params={"skip": "100000", "take": "10"},
    ),
]

# -- GET /api/Contact/QueryOptions -------------------------------------------------------
OPTIONS_ROWS = [
    Case(
        "query-options",
        "GET",
        QUERY_OPTIONS,
        200,
        # What the reference's keyset walk and incremental pull build their conditions from.
        {
            "allOf": [
                OPTIONS,
                offering("Contact Id", "Int", "GreaterThan"),
                offering("Last Modified Date", "Date", "OnOrAfter"),
            ]
        },
    ),
]

ROWS = [*FULL_CONTACT_ROWS, *ABBREVIATED_ROWS, *OPTIONS_ROWS]
