"""The endpoints: paths, bodies, and records kept exactly as the server sent them."""

from __future__ import annotations

import copy
import json

import pytest

from syncengine.crm import MAX_TAKE, CrmClient, Timeouts
from syncengine.domain.ports import CrmPort, QueryPage
from syncengine.errors import CrmError, CrmNotFound
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeCrm, load_fixture


def test_client_satisfies_the_crm_port(client: CrmClient) -> None:
    port: CrmPort = client  # mypy checks the Protocol; this checks nothing is missing at runtime
    for name in CrmPort.__dict__:
        if not name.startswith("_"):
            assert hasattr(port, name), name


def test_get_contact_returns_the_record_exactly_as_sent(client: CrmClient) -> None:
    assert client.get_contact(1) == load_fixture("contact")


def test_unknown_fields_survive_a_get_put_round_trip_untouched(
    client: CrmClient, server: FakeCrm
) -> None:
    server.contacts[1]["someNewKey"] = {"nested": [1, "two", None], "flag": True}
    server.contacts[1]["address"]["geoHint"] = "55.1,-3.2"

    record = client.get_contact(1)
    sent = copy.deepcopy(record)
    record["name"] = "Renamed"
    answer = client.put_contact(1, record)

    put_body = json.loads(server.reaching("PUT", "/api/Contact/1")[0].content)
    assert put_body == {**sent, "name": "Renamed"}
    assert put_body["someNewKey"] == {"nested": [1, "two", None], "flag": True}
    assert put_body["address"]["geoHint"] == "55.1,-3.2"
    assert answer["someNewKey"] == sent["someNewKey"]


def test_put_sends_natural_json_types_not_strings(client: CrmClient, server: FakeCrm) -> None:
    record = client.get_contact(1)
    client.put_contact(1, {**record, "isPrivate": False, "anniversaryYear": 2010})

    body = json.loads(server.reaching("PUT", "/api/Contact/1")[0].content)
    assert body["isPrivate"] is False
    assert body["anniversaryYear"] == 2010


def test_put_returns_the_servers_version_of_the_record(client: CrmClient) -> None:
    record = client.get_contact(1)
    answer = client.put_contact(1, record)
    assert answer["modifiedDateTimeUtc"] == "2024-01-02T03:04:05.67"


def test_create_posts_the_body_and_returns_the_new_contact(
    client: CrmClient, server: FakeCrm
) -> None:
    created = client.create_contact(
        {
            "contactType": "Household",
            "name": "New",
            "referenceSource": "partner",
            "referenceId": "p-9",
        }
    )
    assert created["id"] in server.contacts
    assert json.loads(server.reaching("POST", "/api/Contact")[0].content)["name"] == "New"


def test_find_by_email_returns_the_contact(client: CrmClient, server: FakeCrm) -> None:
    found = client.find_contact_by_email("email@test.com")
    assert found is not None and found["id"] == 1
    assert server.received[-1].url.params["email"] == "email@test.com"


def test_find_by_email_returns_none_when_nothing_matches(client: CrmClient) -> None:
    assert client.find_contact_by_email("nobody@example.org") is None


def test_find_by_reference_sends_both_parameters(client: CrmClient, server: FakeCrm) -> None:
    created = client.create_contact(
        {"name": "Ref", "referenceSource": "partner", "referenceId": "p-42"}
    )
    found = client.find_contact_by_reference("partner", "p-42")
    assert found is not None and found["id"] == created["id"]
    params = server.received[-1].url.params
    assert (params["referenceSource"], params["referenceId"]) == ("partner", "p-42")
    assert client.find_contact_by_reference("partner", "missing") is None


def test_query_returns_a_page_with_items_and_total(client: CrmClient, server: FakeCrm) -> None:
    for _ in range(3):
        client.create_contact({"name": "x"})
    query = {"groups": [], "sortBy": "Contact Id", "descending": False}

    page = client.query_full_contacts(query, skip=1, take=2)

    assert page == QueryPage(items=page.items, total=4)
    assert len(page.items) == 2
    sent = server.reaching("POST", "/api/Contact/Query/FullContact")[0]
    assert sent.url.params["skip"] == "1" and sent.url.params["take"] == "2"
    assert json.loads(sent.content) == query


@pytest.mark.parametrize("take", [0, MAX_TAKE + 1])
def test_query_refuses_a_take_outside_1_to_1000_before_sending(
    client: CrmClient, server: FakeCrm, take: int
) -> None:
    with pytest.raises(ValueError, match="take"):
        client.query_full_contacts({}, take=take)
    assert server.received == []


def test_query_with_a_malformed_answer_is_a_crm_error(client: CrmClient, server: FakeCrm) -> None:
    server.then("POST", "/api/Contact/Query/FullContact", respond(200, json={"items": []}))
    with pytest.raises(CrmError, match="list"):
        client.query_full_contacts({})


def test_archive_and_unarchive_use_their_own_endpoints(client: CrmClient, server: FakeCrm) -> None:
    client.archive_contact(1)
    assert 1 in server.archived
    client.unarchive_contact(1)
    assert 1 not in server.archived
    assert [(r.method, r.url.path) for r in server.received] == [
        ("PUT", "/api/Contact/Archive/1"),
        ("PUT", "/api/Contact/Unarchive/1"),
    ]
    assert all(r.content == b"" for r in server.received)


def test_address_get_put_and_list_by_contact(client: CrmClient) -> None:
    address = client.get_address(800)
    assert address["label"] == "Test address"
    updated = client.put_address(800, {**address, "city": "Leeds"})
    assert updated["city"] == "Leeds"
    assert [a["id"] for a in client.list_addresses(1)] == [800]


def test_listing_addresses_of_a_missing_contact_is_not_found(client: CrmClient) -> None:
    with pytest.raises(CrmNotFound):
        client.list_addresses(999)


def test_individual_get_and_put(client: CrmClient) -> None:
    person = client.get_individual(2)
    assert person["firstName"] == "Test"
    assert client.put_individual(2, {**person, "nickname": "T"})["nickname"] == "T"


def test_ids_must_be_ints_so_paths_cannot_be_bent(client: CrmClient) -> None:
    with pytest.raises(TypeError):
        client.get_contact("1/../Find")  # type: ignore[arg-type]


def test_requests_made_counts_every_http_request(client: CrmClient) -> None:
    client.get_contact(1)
    client.find_contact_by_email("nobody@example.org")
    assert client.requests_made == 2


def test_configured_timeouts_reach_every_request(make_client: MakeClient, server: FakeCrm) -> None:
    client = make_client(timeouts=Timeouts(connect=1.5, read=2.5, write=3.5, pool=4.5))
    client.get_contact(1)
    assert server.received[0].extensions["timeout"] == {
        "connect": 1.5,
        "read": 2.5,
        "write": 3.5,
        "pool": 4.5,
    }


def test_client_closes_as_a_context_manager(make_client: MakeClient) -> None:
    with make_client() as client:
        client.get_contact(1)
    with pytest.raises(RuntimeError):
        client.get_contact(1)
