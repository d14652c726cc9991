"""What each query parameter matches, operator by operator, on both query routes.

The default seed (syncengine/sandbox/seed.py) is read only: every household has a
primary home address and a non-primary winter one in Naples, FL, so the address rows
also show that only the PRIMARY address counts. Text compares ignoring case.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import LIVE_IDS
from tests.sandbox.query_helpers import OPTIONS, QUERY_ROUTES, condition, ids, one_group

HOUSEHOLDS = [4817, 4818, 4819, 4820, 4821]

# (parameter, operator, value, secondaryValue, values, expected ids)
ROWS: list[tuple[str, str, Any, Any, list[str] | None, list[int]]] = [
    ("Contact Id", "Is", "4821", None, None, [4821]),
    ("Contact Id", "LessThan", 4818, None, None, [4817]),
    ("Contact Id", "LessThanOrEqual", "4818", None, None, [4817, 4818]),
    ("Contact Id", "GreaterThan", "4823", None, None, [4824]),
    ("Contact Id", "GreaterThanOrEqual", "4823", None, None, [4823, 4824]),
    ("Contact Id", "Between", "4820", "4823", None, [4820, 4821, 4823]),
    ("Contact Name", "Is", "the whitfield HOUSEHOLD", None, None, [4821]),
    ("Contact Name", "Contains", "house", None, None, HOUSEHOLDS),
    ("Contact Name", "StartsWith", "harbor", None, None, [4824]),
    ("Contact Name", "EndsWith", "Foundation", None, None, [4823]),
    ("Contact Type", "Is", "Foundation", None, None, [4823]),
    ("Contact Type", "Is", "household", None, None, HOUSEHOLDS),
    ("Contact Type", "IsNot", "Household", None, None, [4823, 4824]),
    # Any individual's name, not only the primary one's: Thomas is 4821's second.
    ("First Name", "Is", "thomas", None, None, [4821]),
    ("First Name", "Contains", "rik", None, None, [4819]),
    ("First Name", "StartsWith", "S", None, None, [4819, 4824]),
    ("First Name", "EndsWith", "a", None, None, [4817, 4818, 4819]),
    ("Last Name", "Is", "LIU", None, None, [4823]),
    ("Last Name", "Contains", "qv", None, None, [4819]),
    ("Last Name", "StartsWith", "o", None, None, [4818, 4824]),
    ("Last Name", "EndsWith", "field", None, None, [4821]),
    # Any email-type method of any individual, work addresses included.
    ("Email Address", "Is", "THOMAS.whitfield@example.org", None, None, [4821]),
    ("Email Address", "IsKnown", None, None, None, LIVE_IDS),
    ("Email Address", "IsNotKnown", None, None, None, []),
    ("Email Address", "Contains", "liu", None, None, [4823]),
    ("Email Address", "StartsWith", "ewhit", None, None, [4821]),
    ("Email Address", "EndsWith", "@work.example.com", None, None, LIVE_IDS),
    # Any phone-type method, compared as written.
    ("Phone Number", "Is", "555-01212", None, None, [4821]),
    ("Phone Number", "IsKnown", None, None, None, LIVE_IDS),
    ("Phone Number", "IsNotKnown", None, None, None, []),
    ("Phone Number", "Contains", "0119", None, None, [4819]),
    ("Phone Number", "StartsWith", "555-012", None, None, [4820, 4821, 4823, 4824]),
    ("Phone Number", "EndsWith", "2", None, None, HOUSEHOLDS),
    # The primary address only: every household also has a winter address in Naples, FL.
    ("City", "Is", "boulder", None, None, [4821]),
    ("City", "Is", "Naples", None, None, []),
    ("City", "IsNot", "Boulder", None, None, [4817, 4818, 4819, 4820, 4823, 4824]),
    ("City", "IsKnown", None, None, None, LIVE_IDS),
    ("City", "IsNotKnown", None, None, None, []),
    ("City", "Contains", "des", None, None, [4818]),
    ("City", "StartsWith", "S", None, None, [4820, 4823]),
    ("City", "EndsWith", "ence", None, None, [4824]),
    ("State", "Is", "co", None, None, [4821]),
    ("State", "Is", "FL", None, None, []),
    ("State", "IsNot", "CO", None, None, [4817, 4818, 4819, 4820, 4823, 4824]),
    ("State", "IsKnown", None, None, None, LIVE_IDS),
    ("State", "IsNotKnown", None, None, None, []),
    ("State", "In", None, None, ["OR", "wa"], [4817, 4820]),
    ("State", "NotIn", None, None, ["OR", "WA"], [4818, 4819, 4821, 4823, 4824]),
    ("Postal", "Is", "80302", None, None, [4821]),
    ("Postal", "IsNot", "80302", None, None, [4817, 4818, 4819, 4820, 4823, 4824]),
    ("Postal", "IsKnown", None, None, None, LIVE_IDS),
    ("Postal", "IsNotKnown", None, None, None, []),
    ("Postal", "Contains", "290", None, None, [4824]),
    ("Postal", "StartsWith", "9", None, None, [4817, 4820, 4823]),
    ("Postal", "EndsWith", "01", None, None, [4817, 4819, 4820]),
    ("Country", "Is", "united states", None, None, LIVE_IDS),
    ("Country", "IsNot", "United States", None, None, []),
    ("Country", "IsKnown", None, None, None, LIVE_IDS),
    ("Country", "IsNotKnown", None, None, None, []),
    ("Country", "Contains", "STATES", None, None, LIVE_IDS),
    ("Country", "StartsWith", "Can", None, None, []),
    ("Country", "EndsWith", "States", None, None, LIVE_IDS),
    ("Tag", "Is", "gala 2024", None, None, [4821]),
    ("Tag", "IsAnyOf", None, None, ["Major Donor", "monthly donor"], [4817, 4821]),
    # A contact without tags has none of them.
    ("Tag", "IsNoneOf", None, None, ["Major Donor"], [4817, 4818, 4819, 4820, 4823, 4824]),
    ("Is Private", "IsFalse", None, None, None, LIVE_IDS),
    ("Is Private", "IsTrue", None, None, None, []),
    # Every seeded contact was created on 2023-11-30 (writes move only the modified date).
    ("Create Date", "Is", "11/30/2023", None, None, LIVE_IDS),
    ("Create Date", "LessThan", "2023-11-30", None, None, []),
    ("Create Date", "LessThanOrEqual", "2023-11-30T00:00:00", None, None, LIVE_IDS),
    ("Create Date", "Before", "2023-12-01", None, None, LIVE_IDS),
    ("Create Date", "OnOrBefore", "2023-11-29", None, None, []),
    ("Create Date", "GreaterThan", "2023-11-29", None, None, LIVE_IDS),
    ("Create Date", "GreaterThanOrEqual", "2023-12-01", None, None, []),
    ("Create Date", "After", "2023-11-30", None, None, []),
    ("Create Date", "OnOrAfter", "2023-11-30", None, None, LIVE_IDS),
    ("Create Date", "Between", "2023-11-01", "2023-11-29", None, []),
    # Modified on 2024-01-15, 02-03, 02-20, 03-01, 03-12, (archived), 03-22, 04-02.
    ("Last Modified Date", "Is", "2024-03-12", None, None, [4821]),
    ("Last Modified Date", "LessThan", "2024-02-20", None, None, [4817, 4818]),
    ("Last Modified Date", "LessThanOrEqual", "2/20/2024", None, None, [4817, 4818, 4819]),
    ("Last Modified Date", "Before", "2024-02-03", None, None, [4817]),
    ("Last Modified Date", "OnOrBefore", "2024-02-03", None, None, [4817, 4818]),
    ("Last Modified Date", "GreaterThan", "2024-03-12T23:00:00", None, None, [4823, 4824]),
    ("Last Modified Date", "GreaterThanOrEqual", "2024-03-22", None, None, [4823, 4824]),
    ("Last Modified Date", "After", "2024-03-22", None, None, [4824]),
    ("Last Modified Date", "OnOrAfter", "2024-03-12", None, None, [4821, 4823, 4824]),
    ("Last Modified Date", "Between", "2024-02-03", "2024-03-01", None, [4818, 4819, 4820]),
]


@pytest.mark.parametrize("route", QUERY_ROUTES)
@pytest.mark.parametrize(
    ("parameter", "operator", "value", "secondary", "values", "expected"),
    ROWS,
    ids=[f"{r[0]}-{r[1]}-{r[2] or r[4]}" for r in ROWS],
)
def test_a_parameter_matches_what_it_documents(
    replace_client: httpx.Client,
    route: str,
    parameter: str,
    operator: str,
    value: Any,
    secondary: Any,
    values: list[str] | None,
    expected: list[int],
) -> None:
    body = one_group(condition(parameter, operator, value, secondary, values))
    assert ids(replace_client, body, route) == expected


def test_every_listed_parameter_and_operator_has_a_row_above(
    replace_client: httpx.Client,
) -> None:
    listed = {
        (option["parameter"], operator["operator"])
        for option in replace_client.get(OPTIONS).json()["options"]
        for operator in option["operatorOptions"]
    }
    assert listed == {(row[0], row[1]) for row in ROWS}


def test_conditions_on_different_parameters_and_within_a_group(
    replace_client: httpx.Client,
) -> None:
    body = one_group(
        condition("Contact Type", "Is", "Household"),
        condition("Email Address", "EndsWith", "@example.org"),
        condition("Postal", "StartsWith", "9"),
    )
    assert ids(replace_client, body) == [4817, 4820]
