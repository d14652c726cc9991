"""A query the sandbox cannot read exactly is a 400 ``{"message"}`` naming the condition
and what is wrong with it, on both query routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.query_helpers import QUERY_ROUTES, condition, one_group, refused

# (condition, words the message must contain)
CASES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    (condition("Favourite Colour", "Is", "Blue"), ("unknown parameter", "'Favourite Colour'")),
    (condition(None, "Is", "x"), ("unknown parameter", "None")),
    (condition("City", "Equals", "Boulder"), ("unknown operator", "'Equals'")),
    (condition("City", None, "Boulder"), ("unknown operator", "None")),
    # An operator the parameter does not take.
    (condition("Contact Id", "Contains", "48"), ("'Contains'", "'Contact Id'")),
    (condition("Contact Id", "After", "4821"), ("'After'", "'Contact Id'")),
    (condition("City", "After", "2024-01-01"), ("'After'", "'City'")),
    (condition("Is Private", "Is", "true"), ("'Is'", "'Is Private'")),
    (condition("Tag", "In", None, None, ["Gala 2024"]), ("'In'", "'Tag'")),
    (condition("Contact Type", "IsAnyOf", None, None, ["Household"]), ("'IsAnyOf'",)),
    (condition("First Name", "IsKnown"), ("'IsKnown'", "'First Name'")),
    # A missing operand.
    (condition("City", "Is"), ("City Is", "'value'")),
    (condition("City", "Is", ""), ("'value'",)),
    (condition("Contact Id", "Between", "4819"), ("Contact Id Between", "'secondaryValue'")),
    (condition("Create Date", "Between", None, "2024-01-01"), ("'value'",)),
    (condition("State", "In", "CO"), ("State In", "'values'")),
    ({"parameter": "Tag", "operator": "IsAnyOf", "value": "x"}, ("'values'",)),
    ({"parameter": "Tag", "operator": "IsNoneOf", "values": "Gala"}, ("'values'",)),
    # A value the parameter cannot read.
    (condition("Contact Id", "Is", "abc"), ("'abc'", "whole number")),
    (condition("Contact Id", "Is", True), ("True",)),
    (condition("Contact Id", "Is", 48.21), ("48.21",)),
    (condition("Last Modified Date", "Is", "last tuesday"), ("'last tuesday'", "not a date")),
    (condition("Last Modified Date", "Is", "2/30/2024"), ("'2/30/2024'",)),
    # Relative dates are spelled as the live API lists them.
    (condition("Create Date", "After", "today"), ("'today'",)),
    (condition("Last Modified Date", "Is", "One Week From Now"), ("'One Week From Now'",)),
    (condition("Contact Id", "Is", "Today"), ("'Today'",)),
    (condition("Contact Type", "Is", "Person"), ("'Person'", "Household")),
    (condition("City", "Is", 42), ("42",)),
    (condition("State", "In", None, None, ["CO", 7]), ("7",)),
    (condition("Email Address", "Is", {"value": "x"}), ("not a text value",)),
]


@pytest.mark.parametrize("route", QUERY_ROUTES)
@pytest.mark.parametrize(
    ("bad", "words"), CASES, ids=[f"{c[0]['parameter']}-{c[0]['operator']}" for c in CASES]
)
def test_a_condition_that_cannot_be_read_is_a_400_naming_it(
    replace_client: httpx.Client, route: str, bad: dict[str, Any], words: tuple[str, ...]
) -> None:
    body = {
        "groups": [
            {"conditions": [condition("Contact Id", "GreaterThan", "0")]},
            {"conditions": [condition("Contact Id", "GreaterThan", "0"), bad]},
        ]
    }
    message = refused(replace_client, body, route)
    assert "groups[1].conditions[1]" in message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("route", QUERY_ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        {"sortBy": "Contact Name"},
        {"includeArchived": "yes"},
        {"groups": {"conditions": []}},
        {"groups": [{"conditions": ["City Is Boulder"]}]},
        "City Is Boulder",
    ],
)
def test_a_malformed_body_is_a_400(replace_client: httpx.Client, route: str, body: Any) -> None:
    assert refused(replace_client, body, route)


def test_the_message_lists_the_operators_the_parameter_takes(
    replace_client: httpx.Client,
) -> None:
    message = refused(replace_client, one_group(condition("State", "Contains", "C")))
    assert "['Is', 'IsNot', 'IsKnown', 'IsNotKnown', 'In', 'NotIn']" in message
