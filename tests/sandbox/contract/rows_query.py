"""Contract rows of POST /api/Contact/Query/FullContact: the documented body, ``{list,
total}``, ``take`` at most 1000, archived contacts only with ``includeArchived``."""

from __future__ import annotations

from typing import Any

from tests.sandbox.contract.case import Case, fixed, raw
from tests.sandbox.contract.schemas import ANY_JSON, MAX_TAKE, MESSAGE, page
from tests.sandbox.helpers import LIVE_IDS

QUERY = "/api/Contact/Query/FullContact"
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

ROWS = [
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
