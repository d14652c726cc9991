"""GET /api/Contact/QueryOptions: the recorded shape, and agreement with what the two
query routes accept (every listed parameter/operator pair is accepted, nothing else)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.query_helpers import OPTIONS, QUERY_ROUTES, condition, one_group, refused

DOCUMENTED_PARAMETERS = {
    "Contact Id",
    "Contact Name",
    "First Name",
    "Last Name",
    "Email Address",
    "Phone Number",
    "City",
    "State",
    "Postal",
    "Country",
    "Tag",
    "Contact Type",
    "Is Private",
    "Create Date",
    "Last Modified Date",
}
# As a recorded live QueryOptions response lists them, in its order.
RELATIVE_DATES = [
    "180 Days Ago",
    "270 Days Ago",
    "30 Days Ago",
    "60 Days Ago",
    "90 Days Ago",
    "Last Sunday",
    "One week from now",
    "One Year Ago",
    "Start Of This Month",
    "This Calendar Year",
    "Today",
    "Tomorrow",
    "Two Years Ago",
    "Yesterday",
]
# A value each parameter type reads, for trying every operator on it.
SAMPLE_VALUE = {"Int": "4821", "Date": "2024-03-12", "String": "x", "Lookup": "x"}


def options(client: httpx.Client) -> dict[str, Any]:
    response = client.get(OPTIONS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_answer_has_the_recorded_shape(replace_client: httpx.Client) -> None:
    body = options(replace_client)
    assert set(body) == {"options", "operatorOptions"}
    for option in body["options"]:
        assert set(option) == {"parameter", "type", "operatorOptions", "valueOptions"}
        assert option["type"] in {"Int", "String", "Date", "Boolean", "List", "Lookup"}
        assert all(isinstance(v, str) for v in option["valueOptions"])
    for operator in [o for option in body["options"] for o in option["operatorOptions"]] + body[
        "operatorOptions"
    ]:
        assert set(operator) == {"operator", "multipleValuesAllowed", "valueRequired"}
        assert isinstance(operator["multipleValuesAllowed"], bool)
        assert isinstance(operator["valueRequired"], bool)


def test_it_lists_the_documented_parameters_once_each(replace_client: httpx.Client) -> None:
    names = [option["parameter"] for option in options(replace_client)["options"]]
    assert sorted(names) == sorted(DOCUMENTED_PARAMETERS)


def test_operators_say_what_operands_they_take(replace_client: httpx.Client) -> None:
    flags = {
        o["operator"]: (o["valueRequired"], o["multipleValuesAllowed"])
        for o in options(replace_client)["operatorOptions"]
    }
    assert set(flags) == {
        *("Is", "IsNot", "IsKnown", "IsNotKnown", "LessThan", "LessThanOrEqual"),
        *("GreaterThan", "GreaterThanOrEqual", "Contains", "StartsWith", "EndsWith"),
        *("IsTrue", "IsFalse", "In", "NotIn", "Between", "Before", "After"),
        *("IsAnyOf", "IsNoneOf", "OnOrBefore", "OnOrAfter"),
    }
    for name in ("IsKnown", "IsNotKnown", "IsTrue", "IsFalse"):
        assert flags[name] == (False, False)
    for name in ("In", "NotIn", "IsAnyOf", "IsNoneOf"):
        assert flags[name] == (True, True)
    assert flags["Between"] == (True, False)


def test_date_parameters_offer_the_relative_dates(replace_client: httpx.Client) -> None:
    by_name = {o["parameter"]: o for o in options(replace_client)["options"]}
    for name in ("Create Date", "Last Modified Date"):
        assert by_name[name]["type"] == "Date"
        assert by_name[name]["valueOptions"] == RELATIVE_DATES
    assert by_name["City"]["valueOptions"] == []


def test_contact_type_offers_the_organisations_types(sandbox_factory: SandboxFactory) -> None:
    with client_for(sandbox_factory(contact_subtypes=("Church",))) as client:
        (contact_type,) = [
            o for o in options(client)["options"] if o["parameter"] == "Contact Type"
        ]
        assert contact_type["type"] == "List"
        assert contact_type["valueOptions"] == ["Church", "Foundation", "Household", "Organization"]
        body = one_group(condition("Contact Type", "Is", "church"))
        assert client.post(QUERY_ROUTES[0], json=body).json() == {"list": [], "total": 0}


def _pairs(client: httpx.Client) -> list[tuple[dict[str, Any], str, bool]]:
    """(parameter option, operator, listed for it) for every known operator."""
    body = options(client)
    every = [o["operator"] for o in body["operatorOptions"]]
    return [
        (option, name, name in {o["operator"] for o in option["operatorOptions"]})
        for option in body["options"]
        for name in every
    ]


def _condition_for(option: dict[str, Any], operator: str) -> dict[str, Any]:
    """A condition of ``operator`` on the parameter, with operands of the right type."""
    sample = (option["valueOptions"] or [None])[0] if option["type"] == "List" else None
    value = sample or SAMPLE_VALUE.get(option["type"], "x")
    return condition(option["parameter"], operator, value, value, [value])


@pytest.mark.parametrize("route", QUERY_ROUTES)
def test_every_listed_pair_is_accepted_and_no_other(
    replace_client: httpx.Client, route: str
) -> None:
    pairs = _pairs(replace_client)
    assert sum(listed for _, _, listed in pairs) > 80  # the table is not empty
    for option, operator, listed in pairs:
        body = one_group(_condition_for(option, operator))
        response = replace_client.post(route, json=body)
        assert response.status_code == (200 if listed else 400), (
            option["parameter"],
            operator,
            response.text,
        )
        if not listed:
            message = response.json()["message"]
            assert operator in message and option["parameter"] in message


def test_it_needs_the_token_like_every_route(sandbox_factory: SandboxFactory) -> None:
    with client_for(sandbox_factory(), token="wrong") as client:
        assert client.get(OPTIONS).status_code == 401


@pytest.mark.parametrize("route", QUERY_ROUTES)
def test_an_unknown_parameter_is_named(replace_client: httpx.Client, route: str) -> None:
    body = one_group(condition("Favourite Colour", "Is", "Blue"))
    assert "'Favourite Colour'" in refused(replace_client, body, route)
