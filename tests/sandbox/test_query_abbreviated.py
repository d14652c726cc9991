"""POST /api/Contact/Query: abbreviated contacts in the envelope, filter, paging and
limits of Query/FullContact."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import ARCHIVED_CONTACT, LIVE_IDS, SHOWCASE, ok
from tests.sandbox.query_helpers import ABBREVIATED, FULL, condition, ids, one_group

KEYS = {"id", "name", "contactType", "contactName", "address", "email", "phone", "contactViewUrl"}


def listed(client: httpx.Client, body: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    answer = ok(client.post(ABBREVIATED, json=body, params={"take": 1000, **params}))
    assert set(answer) == {"list", "total"}
    items: list[dict[str, Any]] = answer["list"]
    return items


def test_an_abbreviated_contact_is_filled_as_the_recorded_live_list(
    replace_client: httpx.Client,
) -> None:
    # chrispymm/virtuouscrm, spec/cassettes/contact_list.yml: "address": "Mesa, AZ",
    # "contactViewUrl": "/api/Contact/1246", the keys in this order.
    (showcase,) = listed(replace_client, one_group(condition("Contact Id", "Is", SHOWCASE)))
    assert list(showcase.items()) == [
        ("id", SHOWCASE),
        ("name", "The Whitfield Household"),
        ("contactType", "Household"),
        ("contactName", "Eleanor Whitfield"),
        ("address", "Boulder, CO"),
        ("email", "eleanor.whitfield@example.org"),
        ("phone", "555-01211"),
        ("contactViewUrl", f"/api/Contact/{SHOWCASE}"),
    ]


def test_a_non_us_address_lists_its_country_after_the_state(
    sandbox_client: httpx.Client,
) -> None:
    # Recorded: "Trieste, TS Italy"; a US country ("United States") is never shown.
    body = {
        "contactType": "Household",
        "name": "The Rossi Household",
        "contactAddresses": [
            {"address1": "Via Roma 1", "city": "Trieste", "state": "TS", "countryCode": "IT"}
        ],
    }
    created = ok(sandbox_client.post("/api/Contact", json=body))
    record = ok(sandbox_client.get(f"/api/Contact/{created['id']}"))
    record["address"]["country"] = "Italy"
    ok(sandbox_client.put(f"/api/Contact/{created['id']}", json=record))
    (item,) = listed(sandbox_client, one_group(condition("Contact Id", "Is", created["id"])))
    assert item["address"] == "Trieste, TS Italy"


def test_every_listed_item_has_the_same_keys(replace_client: httpx.Client) -> None:
    for item in listed(replace_client, {"includeArchived": True}):
        assert set(item) == KEYS


def test_the_primary_individual_and_methods_are_chosen(
    sandbox_client: httpx.Client,
) -> None:
    # Thomas becomes primary: his name, his primary email and phone are listed.
    record = ok(sandbox_client.get(f"/api/Contact/{SHOWCASE}"))
    for individual in record["contactIndividuals"]:
        individual["isPrimary"] = individual["firstName"] == "Thomas"
    ok(sandbox_client.put(f"/api/Contact/{SHOWCASE}", json=record))
    (showcase,) = listed(sandbox_client, one_group(condition("Contact Id", "Is", SHOWCASE)))
    assert showcase["contactName"] == "Thomas Whitfield"
    assert showcase["email"] == "thomas.whitfield@example.org"
    assert showcase["phone"] == "555-01212"  # his only phone, though not flagged primary


def test_what_a_contact_lacks_is_an_empty_string(sandbox_client: httpx.Client) -> None:
    # Recorded: "address": "" and "phone": "" for contacts without them, never null.
    created = ok(
        sandbox_client.post("/api/Contact", json={"contactType": "Household", "name": "X"})
    )
    (bare,) = listed(sandbox_client, one_group(condition("Contact Id", "Is", created["id"])))
    assert [bare[k] for k in ("contactName", "address", "email", "phone")] == ["", "", "", ""]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"includeArchived": True},
        {"sortBy": "Last Modified Date", "descending": True},
        one_group(condition("Contact Type", "Is", "Household")),
        {
            "groups": [
                {"conditions": [condition("State", "In", values=["CO", "MN"])]},
                {"conditions": [condition("Tag", "IsAnyOf", values=["Monthly Donor"])]},
            ]
        },
    ],
)
def test_it_lists_what_full_contact_lists(replace_client: httpx.Client, body: Any) -> None:
    full = ok(replace_client.post(FULL, json=body, params={"take": 1000}))
    short = ok(replace_client.post(ABBREVIATED, json=body, params={"take": 1000}))
    assert [c["id"] for c in short["list"]] == [c["id"] for c in full["list"]]
    assert short["total"] == full["total"]


def test_archived_contacts_only_when_asked(replace_client: httpx.Client) -> None:
    assert ARCHIVED_CONTACT not in ids(replace_client, {}, ABBREVIATED)
    assert ARCHIVED_CONTACT in ids(replace_client, {"includeArchived": True}, ABBREVIATED)


def test_skip_and_take_page_and_total_counts_all(replace_client: httpx.Client) -> None:
    page = ok(replace_client.post(ABBREVIATED, json={}, params={"skip": 2, "take": 3}))
    assert [c["id"] for c in page["list"]] == LIVE_IDS[2:5]
    assert page["total"] == len(LIVE_IDS)


def test_take_defaults_to_ten_and_is_at_most_1000(replace_client: httpx.Client) -> None:
    assert len(ok(replace_client.post(ABBREVIATED, json={}))["list"]) == len(LIVE_IDS)
    refused = replace_client.post(ABBREVIATED, json={}, params={"take": 1001})
    assert refused.status_code == 400 and refused.json()["message"]


def test_a_very_large_skip_answers_500(replace_client: httpx.Client) -> None:
    assert replace_client.post(ABBREVIATED, json={}, params={"skip": 10_001}).status_code == 500


def test_keyset_paging_walks_every_contact_once(replace_client: httpx.Client) -> None:
    seen: list[int] = []
    while True:
        last = seen[-1] if seen else 0
        body = one_group(condition("Contact Id", "GreaterThan", str(last)))
        page = ids(replace_client, body, ABBREVIATED, take=2)
        seen += page
        if len(page) < 2:
            break
    assert seen == LIVE_IDS


def test_an_empty_body_is_a_400(replace_client: httpx.Client) -> None:
    response = replace_client.post(ABBREVIATED, content=b"")
    assert response.status_code == 400 and response.json()["message"]


def test_get_is_not_a_query(replace_client: httpx.Client) -> None:
    assert replace_client.get(ABBREVIATED).status_code == 405
