"""POST /api/Contact: create-only shapes, no de-duplication, the GET shape back."""

from __future__ import annotations

from typing import Any

import httpx

from syncengine.sandbox import SandboxServer
from tests.sandbox.helpers import contact, custom_values, model_state, ok, problems

NEW_HOUSEHOLD: dict[str, Any] = {
    "contactType": "Household",
    "name": "The Ferreira Household",
    "informalName": "Ana & Luis",
    "contactIndividuals": [
        {
            "firstName": "Ana",
            "lastName": "Ferreira",
            "isPrimary": True,
            "birthMonth": 2,
            "birthDay": 9,
            "birthYear": 1980,
            "contactMethods": [
                {"type": "Home Email", "value": "ana.ferreira@example.net", "isPrimary": True},
                {"type": "Mobile Phone", "value": "555-0142"},
            ],
        },
        {"firstName": "Luis", "lastName": "Ferreira"},
    ],
    "contactAddresses": [
        {
            "label": "Cabin",
            "address1": "9 Lake Rd",
            "city": "Bend",
            "stateCode": "or",
            "countryCode": "US",
        },
        {
            "label": "Home",
            "address1": "12 Oak Ave",
            "city": "Portland",
            "stateCode": "OR",
            "countryCode": "US",
            "postal": "97205",
            "isPrimary": True,
        },
    ],
    "customFields": {"Shirt Size": "XL", "Preferred Channel": "Email"},
    "referenceSource": "PartnerPlatform",
    "referenceId": "PP-20001",
    "tags": ["New Donor"],
}


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.post("/api/Contact", json=body))
    return data


def test_create_answers_the_full_contact_as_get_shows_it(sandbox_client: httpx.Client) -> None:
    created = create(sandbox_client, NEW_HOUSEHOLD)
    assert created == contact(sandbox_client, created["id"])
    assert created["id"] > 4824
    assert "isArchived" not in created
    ana, luis = created["contactIndividuals"]
    assert (ana["firstName"], ana["birthDate"], luis["firstName"]) == ("Ana", "2/9/1980", "Luis")
    assert [m["value"] for m in ana["contactMethods"]] == ["ana.ferreira@example.net", "555-0142"]
    assert created["createdByUser"] == created["modifiedByUser"] == "Sandbox API User"
    assert created["tags"] == ["New Donor"]


def test_create_turns_the_flagged_contact_address_into_the_primary(
    sandbox_client: httpx.Client,
) -> None:
    created = create(sandbox_client, NEW_HOUSEHOLD)
    assert created["address"]["label"] == "Home"
    assert (created["address"]["state"], created["address"]["country"]) == ("OR", "United States")
    listed = sandbox_client.get(f"/api/ContactAddress/ByContact/{created['id']}").json()
    assert [(a["label"], a["isPrimary"], a["state"]) for a in listed] == [
        ("Cabin", False, "OR"),
        ("Home", True, "OR"),
    ]


def test_without_a_flag_the_first_address_is_the_primary(sandbox_client: httpx.Client) -> None:
    addresses = [{**a, "isPrimary": False} for a in NEW_HOUSEHOLD["contactAddresses"]]
    created = create(sandbox_client, {**NEW_HOUSEHOLD, "contactAddresses": addresses})
    assert created["address"]["label"] == "Cabin"


def test_create_takes_custom_fields_as_a_map_and_lists_them_all(
    sandbox_client: httpx.Client,
) -> None:
    created = create(sandbox_client, NEW_HOUSEHOLD)
    assert custom_values(created) == {
        "Shirt Size": "XL",
        "Volunteer Interest": None,
        "Preferred Channel": "Email",
    }


def test_create_turns_the_reference_into_a_contact_reference(sandbox_client: httpx.Client) -> None:
    created = create(sandbox_client, NEW_HOUSEHOLD)
    assert created["contactReferences"] == [{"source": "PartnerPlatform", "id": "PP-20001"}]
    found = sandbox_client.get(
        "/api/Contact/Find",
        params={"referenceSource": "PartnerPlatform", "referenceId": "PP-20001"},
    )
    assert found.json()["id"] == created["id"]


def test_create_never_deduplicates(sandbox_client: httpx.Client) -> None:
    body = {"contactType": "Household", "name": "The Whitfield Household"}
    first, second = create(sandbox_client, body), create(sandbox_client, body)
    assert first["id"] != second["id"]


def test_create_accepts_is_archived(sandbox: SandboxServer, sandbox_client: httpx.Client) -> None:
    created = create(
        sandbox_client, {"contactType": "Organization", "name": "Old Mill", "isArchived": True}
    )
    assert "isArchived" not in created
    assert sandbox.hooks.raw_contact(created["id"])["isArchived"] is True
    listed = sandbox_client.post(
        "/api/Contact/Query/FullContact", json={}, params={"take": 1000}
    ).json()
    assert created["id"] not in [c["id"] for c in listed["list"]]


def test_create_validates_like_a_put(sandbox_client: httpx.Client) -> None:
    body = {**NEW_HOUSEHOLD, "customFields": {"Favourite Colour": "Teal"}, "contactType": "Club"}
    assert problems(sandbox_client.post("/api/Contact", json=body)) == {
        ("contact.customFields[0].name", "UnknownCustomField"),
        ("contact.contactType", "UnknownContactType"),
    }


def test_create_wants_custom_fields_as_a_map_not_the_get_list(sandbox_client: httpx.Client) -> None:
    body = {**NEW_HOUSEHOLD, "customFields": [{"name": "Shirt Size", "value": "XL"}]}
    assert list(model_state(sandbox_client.post("/api/Contact", json=body))) == [
        "contact.customFields"
    ]


def test_a_refused_create_creates_nothing(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    before = len(sandbox.hooks.raw_state()["contacts"])
    sandbox_client.post("/api/Contact", json={**NEW_HOUSEHOLD, "name": ""})
    assert len(sandbox.hooks.raw_state()["contacts"]) == before
