"""POST /api/Contact/Query/FullContact: filters, groups, paging, archived exclusion."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import ARCHIVED_CONTACT, LIVE_IDS, SHOWCASE

QUERY = "/api/Contact/Query/FullContact"


def condition(parameter: str, operator: str, value: Any, secondary: Any = None) -> dict[str, Any]:
    return {
        "parameter": parameter,
        "operator": operator,
        "value": value,
        "secondaryValue": secondary,
        "values": [],
    }


def ids(client: httpx.Client, body: dict[str, Any], **params: Any) -> list[int]:
    response = client.post(QUERY, json=body, params={"take": 1000, **params})
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["list"]]


def one_group(*conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"groups": [{"conditions": list(conditions)}], **extra}


def test_an_empty_query_lists_every_live_contact_by_id(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.post(QUERY, json={}, params={"skip": 0, "take": 1000})
    body = response.json()
    assert set(body) == {"list", "total"}
    assert [c["id"] for c in body["list"]] == LIVE_IDS
    assert body["total"] == len(LIVE_IDS)


def test_listed_contacts_are_full_contacts(sandbox_client: httpx.Client) -> None:
    listed = sandbox_client.post(QUERY, json={}, params={"take": 1000}).json()["list"]
    showcase = next(c for c in listed if c["id"] == SHOWCASE)
    assert showcase == sandbox_client.get(f"/api/Contact/{SHOWCASE}").json()


def test_archived_contacts_are_left_out_unless_asked_for(sandbox_client: httpx.Client) -> None:
    assert ARCHIVED_CONTACT not in ids(sandbox_client, {})
    assert ARCHIVED_CONTACT in ids(sandbox_client, {"includeArchived": True})


def test_skip_and_take_page_through_the_matches(sandbox_client: httpx.Client) -> None:
    page = sandbox_client.post(QUERY, json={}, params={"skip": 2, "take": 3}).json()
    assert [c["id"] for c in page["list"]] == LIVE_IDS[2:5]
    assert page["total"] == len(LIVE_IDS)
    assert sandbox_client.post(QUERY, json={}, params={"skip": 50, "take": 3}).json() == {
        "list": [],
        "total": len(LIVE_IDS),
    }


def test_take_defaults_to_ten_and_may_not_exceed_1000(sandbox_client: httpx.Client) -> None:
    assert len(sandbox_client.post(QUERY, json={}).json()["list"]) == len(LIVE_IDS)
    assert sandbox_client.post(QUERY, json={}, params={"take": 1000}).status_code == 200
    refused = sandbox_client.post(QUERY, json={}, params={"take": 1001})
    assert refused.status_code == 400 and refused.json()["message"]


@pytest.mark.parametrize("params", [{"take": "ten"}, {"skip": -1}])
def test_bad_paging_is_a_400(sandbox_client: httpx.Client, params: dict[str, Any]) -> None:
    assert sandbox_client.post(QUERY, json={}, params=params).status_code == 400


def test_a_very_large_skip_answers_500_as_reported_of_the_live_api(
    sandbox_client: httpx.Client,
) -> None:
    assert sandbox_client.post(QUERY, json={}, params={"skip": 10_000}).status_code == 200
    assert sandbox_client.post(QUERY, json={}, params={"skip": 10_001}).status_code == 500


def test_the_large_skip_threshold_is_configurable(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(max_skip=3)
    with client_for(server) as client:
        assert client.post(QUERY, json={}, params={"skip": 4}).status_code == 500


def test_keyset_paging_by_contact_id_walks_every_contact_once(sandbox_client: httpx.Client) -> None:
    seen: list[int] = []
    last = 0
    while True:
        body = one_group(condition("Contact Id", "GreaterThan", str(last)), sortBy="Contact Id")
        page = ids(sandbox_client, body, take=3)
        seen += page
        if len(page) < 3:
            break
        last = page[-1]
    assert seen == LIVE_IDS


@pytest.mark.parametrize(
    ("operator", "value", "secondary", "expected"),
    [
        ("Is", 4821, None, [4821]),
        ("GreaterThan", "4821", None, [4823, 4824]),
        ("GreaterThanOrEqual", "4821", None, [4821, 4823, 4824]),
        ("LessThan", "4819", None, [4817, 4818]),
        ("LessThanOrEqual", "4819", None, [4817, 4818, 4819]),
        ("Between", "4819", "4821", [4819, 4820, 4821]),
    ],
)
def test_contact_id_operators(
    sandbox_client: httpx.Client, operator: str, value: Any, secondary: Any, expected: list[int]
) -> None:
    assert (
        ids(sandbox_client, one_group(condition("Contact Id", operator, value, secondary)))
        == expected
    )


@pytest.mark.parametrize(
    ("operator", "value", "secondary", "expected"),
    [
        # 4821 was modified on 2024-03-12 at 14:20: the comparison ignores the time of day.
        ("Is", "2024-03-12", None, [4821]),
        ("Is", "2024-03-12T23:59:59", None, [4821]),
        ("Is", "3/12/2024", None, [4821]),
        ("After", "2024-03-12T00:00:00", None, [4823, 4824]),
        ("OnOrAfter", "2024-03-12T18:00:00", None, [4821, 4823, 4824]),
        ("Before", "2024-02-03", None, [4817]),
        ("OnOrBefore", "2024-02-03", None, [4817, 4818]),
        ("Between", "2024-02-03", "2024-03-01", [4818, 4819, 4820]),
    ],
)
def test_last_modified_date_compares_whole_days(
    sandbox_client: httpx.Client, operator: str, value: str, secondary: Any, expected: list[int]
) -> None:
    assert (
        ids(sandbox_client, one_group(condition("Last Modified Date", operator, value, secondary)))
        == expected
    )


def test_conditions_in_a_group_and_groups_or(sandbox_client: httpx.Client) -> None:
    body = {
        "groups": [
            {
                "conditions": [
                    condition("Contact Id", "GreaterThan", "4817"),
                    condition("Contact Id", "LessThan", "4820"),
                ]
            },
            {"conditions": [condition("Contact Id", "Is", "4824")]},
        ]
    }
    assert ids(sandbox_client, body) == [4818, 4819, 4824]


def test_a_write_moves_a_contact_into_a_later_day(sandbox_client: httpx.Client) -> None:
    sandbox_client.put(f"/api/Contact/{4817}", json=sandbox_client.get("/api/Contact/4817").json())
    assert 4817 in ids(
        sandbox_client, one_group(condition("Last Modified Date", "After", "2024-12-31"))
    )


def test_sorting_by_last_modified_date_descending(sandbox_client: httpx.Client) -> None:
    body = {"sortBy": "Last Modified Date", "descending": True}
    assert ids(sandbox_client, body) == [4824, 4823, 4821, 4820, 4819, 4818, 4817]


@pytest.mark.parametrize(
    "body",
    [
        one_group(condition("Favourite Colour", "Is", "Blue")),
        one_group(condition("Contact Id", "After", "4821")),
        one_group(condition("Last Modified Date", "Is", "last tuesday")),
        one_group(condition("Contact Id", "Between", "4819")),
        {"sortBy": "Name"},
        {"descending": "true"},
        {"groups": [{"conditions": "all"}]},
        [1, 2],
    ],
)
def test_a_malformed_query_is_a_400(sandbox_client: httpx.Client, body: Any) -> None:
    response = sandbox_client.post(QUERY, json=body)
    assert response.status_code == 400 and response.json()["message"]


def test_a_contact_merged_away_is_listed_with_its_survivor(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    sandbox.hooks.merge(4820, SHOWCASE)
    page = sandbox_client.post(QUERY, json={"includeArchived": True}).json()
    (merged,) = [c for c in page["list"] if c["id"] == 4820]
    assert merged["mergedIntoContactId"] == SHOWCASE


def test_a_contact_merged_away_can_be_left_out(sandbox_factory: Any) -> None:
    from tests.fixtures.sandbox import client_for

    server = sandbox_factory(merged_in_queries=False)
    server.hooks.merge(4820, SHOWCASE)
    with client_for(server) as client:
        assert 4820 not in ids(client, {"includeArchived": True})
