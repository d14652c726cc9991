"""Operators where data changes: unknown values (SQL-style IsNot/NotIn, set-style
IsNoneOf), booleans, inclusive ranges, and queries seeing writes under both PUT
semantics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncengine.sandbox import SandboxServer
from tests.sandbox.helpers import SHOWCASE, contact, ok
from tests.sandbox.query_helpers import QUERY_ROUTES, condition, ids, one_group


def create_bare_contact(client: httpx.Client) -> int:
    """A household with no individuals, methods, addresses or tags."""
    created = ok(client.post("/api/Contact", json={"contactType": "Household", "name": "Bare"}))
    assert created["address"] is None and created["contactIndividuals"] == []
    return int(created["id"])


# (parameter, operator, value, values, whether a contact with no such value matches)
UNKNOWN_ROWS: list[tuple[str, str, Any, list[str] | None, bool]] = [
    ("State", "IsNotKnown", None, None, True),
    ("State", "IsKnown", None, None, False),
    # SQL: an unknown value is neither equal nor unequal to anything.
    ("State", "IsNot", "CO", None, False),
    ("State", "NotIn", None, ["CO", "OR"], False),
    ("City", "IsNotKnown", None, None, True),
    ("City", "IsNot", "Boulder", None, False),
    ("Postal", "IsNotKnown", None, None, True),
    ("Country", "IsNotKnown", None, None, True),
    ("Email Address", "IsNotKnown", None, None, True),
    ("Phone Number", "IsNotKnown", None, None, True),
    # A set: a contact without tags has none of the listed ones.
    ("Tag", "IsNoneOf", None, ["Major Donor"], True),
    ("Tag", "IsAnyOf", None, ["Major Donor"], False),
]


@pytest.mark.parametrize(
    ("parameter", "operator", "value", "values", "matches"),
    UNKNOWN_ROWS,
    ids=[f"{r[0]}-{r[1]}" for r in UNKNOWN_ROWS],
)
def test_a_contact_without_the_value(
    sandbox_client: httpx.Client,
    parameter: str,
    operator: str,
    value: Any,
    values: list[str] | None,
    matches: bool,
) -> None:
    bare = create_bare_contact(sandbox_client)
    body = one_group(condition(parameter, operator, value, None, values))
    for route in QUERY_ROUTES:
        assert (bare in ids(sandbox_client, body, route)) is matches


def test_an_empty_text_is_an_unknown_value(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    sandbox.hooks.ui_edit(SHOWCASE, {"address": {"id": 48215, "state": ""}})
    assert ids(sandbox_client, one_group(condition("State", "IsNotKnown"))) == [SHOWCASE]
    assert SHOWCASE not in ids(sandbox_client, one_group(condition("State", "IsNot", "CO")))


def test_is_private_reads_the_flag(sandbox: SandboxServer, sandbox_client: httpx.Client) -> None:
    sandbox.hooks.ui_edit(4819, {"isPrivate": True})
    assert ids(sandbox_client, one_group(condition("Is Private", "IsTrue"))) == [4819]
    assert 4819 not in ids(sandbox_client, one_group(condition("Is Private", "IsFalse")))


def test_a_value_sent_with_a_valueless_operator_is_ignored(replace_client: httpx.Client) -> None:
    body = one_group(condition("Is Private", "IsFalse", "true"))
    assert 4821 in ids(replace_client, body)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [("4821", "4821", [4821]), ("4820", "4821", [4820, 4821]), ("4823", "4820", [])],
)
def test_between_is_inclusive_and_empty_when_reversed(
    replace_client: httpx.Client, low: str, high: str, expected: list[int]
) -> None:
    body = one_group(condition("Contact Id", "Between", low, high))
    assert ids(replace_client, body) == expected


def test_a_query_sees_a_put_under_either_semantics(sandbox_client: httpx.Client) -> None:
    # The complete record with the city changed: right under replace and patch alike.
    record = contact(sandbox_client)
    record["address"]["city"] = "Denver"
    ok(sandbox_client.put(f"/api/Contact/{SHOWCASE}", json=record))
    for route in QUERY_ROUTES:
        assert ids(sandbox_client, one_group(condition("City", "Is", "denver")), route) == [
            SHOWCASE
        ]
        assert ids(sandbox_client, one_group(condition("City", "Is", "Boulder")), route) == []


def test_a_new_individual_name_and_email_are_found(sandbox_client: httpx.Client) -> None:
    record = contact(sandbox_client)
    record["contactIndividuals"].append(
        {
            "firstName": "Juniper",
            "lastName": "Whitfield",
            "contactMethods": [{"type": "Home Email", "value": "juniper@example.net"}],
        }
    )
    ok(sandbox_client.put(f"/api/Contact/{SHOWCASE}", json=record))
    for parameter, value in (("First Name", "juniper"), ("Email Address", "JUNIPER@example.net")):
        assert ids(sandbox_client, one_group(condition(parameter, "Is", value))) == [SHOWCASE]
