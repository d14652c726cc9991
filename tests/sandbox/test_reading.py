"""GET shapes: exactly the live API's, as recorded in virtuous-fixtures/."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from syncengine.sandbox import ManualClock, SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ELEANOR,
    HOME_ADDRESS,
    LIVE_ONLY_CONTACT_KEYS,
    SHOWCASE,
    THOMAS,
    WINTER_ADDRESS,
    by_id,
    contact,
    custom_values,
    load_fixture,
)


def test_contact_has_exactly_the_keys_of_the_recorded_response(
    sandbox_client: httpx.Client,
) -> None:
    recorded = load_fixture("contact.json")
    served = contact(sandbox_client)
    assert set(served) == set(recorded) | set(LIVE_ONLY_CONTACT_KEYS)
    assert set(served["address"]) == set(recorded["address"])
    individual = served["contactIndividuals"][0]
    assert set(individual) == set(recorded["contactIndividuals"][0])
    method = individual["contactMethods"][0]
    assert set(method) == set(recorded["contactIndividuals"][0]["contactMethods"][0])


def test_a_seeded_recorded_response_is_served_back_unchanged(
    sandbox_factory: SandboxFactory,
) -> None:
    recorded = load_fixture("contact.json")
    # approximateAge is derived from today: pin today to the day of the recording.
    server = sandbox_factory(seed=recorded, clock=ManualClock(datetime(2023, 11, 30, 15)))
    with client_for(server) as client:
        assert contact(client, 1) == {**recorded, **LIVE_ONLY_CONTACT_KEYS}
        individual = client.get("/api/ContactIndividual/2").json()
        assert individual == recorded["contactIndividuals"][0]


def test_address_is_the_primary_one_only(sandbox_client: httpx.Client) -> None:
    address = contact(sandbox_client)["address"]
    assert address["id"] == HOME_ADDRESS
    assert address["isPrimary"] is True
    assert "contactId" not in address  # as in the recorded response


def test_by_contact_lists_every_address_primary_included(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.get(f"/api/ContactAddress/ByContact/{SHOWCASE}")
    assert response.status_code == 200
    listed = {a["id"]: a["isPrimary"] for a in response.json()}
    assert listed == {HOME_ADDRESS: True, WINTER_ADDRESS: False}


def test_standalone_address_names_its_contact(sandbox_client: httpx.Client) -> None:
    address = sandbox_client.get(f"/api/ContactAddress/{WINTER_ADDRESS}").json()
    assert address["contactId"] == SHOWCASE
    assert address["city"] == "Naples"
    assert (address["startMonth"], address["endMonth"]) == (1, 3)


def test_individual_get_is_the_individual_inside_the_contact(sandbox_client: httpx.Client) -> None:
    embedded = by_id(contact(sandbox_client)["contactIndividuals"], THOMAS)
    assert sandbox_client.get(f"/api/ContactIndividual/{THOMAS}").json() == embedded


def test_is_archived_never_appears_in_a_get(sandbox_client: httpx.Client) -> None:
    for contact_id in (SHOWCASE, 4822):  # 4822 is archived
        assert "isArchived" not in contact(sandbox_client, contact_id)


def test_every_custom_field_the_org_defined_is_listed_null_when_unset(
    sandbox_client: httpx.Client,
) -> None:
    fields = contact(sandbox_client)["customFields"]
    assert fields == [
        {"name": "Shirt Size", "value": "M", "displayName": "Shirt Size"},
        {
            "name": "Volunteer Interest",
            "value": "Gala Committee",
            "displayName": "Volunteer Interest",
        },
        {"name": "Preferred Channel", "value": None, "displayName": "Preferred Channel"},
    ]
    assert custom_values(contact(sandbox_client, 4820)) == dict.fromkeys(
        ["Shirt Size", "Volunteer Interest", "Preferred Channel"]
    )


def test_birth_date_and_age_are_derived_from_month_day_year(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(clock=ManualClock(datetime(2024, 5, 16, 12)))
    with client_for(server) as client:
        eleanor, thomas = (
            by_id(contact(client)["contactIndividuals"], i) for i in (ELEANOR, THOMAS)
        )
    assert (eleanor["birthDate"], eleanor["approximateAge"]) == (
        "5/17/1957",
        66,
    )  # birthday tomorrow
    assert (thomas["birthDate"], thomas["approximateAge"]) == ("", None)


def test_urls_and_giving_summaries_are_read_formats(sandbox_client: httpx.Client) -> None:
    served = contact(sandbox_client)
    assert served["contactGiftsUrl"] == f"/api/Gift/ByContact/{SHOWCASE}"
    assert served["contactRelationshipsUrl"] == f"/api/Relationship/ByContact/{SHOWCASE}"
    assert served["lifeToDateGiving"].startswith("$")
    assert served["lastGiftDate"] == "Unavailable"


UNKNOWN_ID_CALLS = [
    ("GET", "/api/Contact/999999", None),
    ("PUT", "/api/Contact/999999", {"name": "x"}),
    ("PUT", "/api/Contact/Archive/999999", None),
    ("PUT", "/api/Contact/Unarchive/999999", None),
    ("GET", "/api/ContactAddress/999999", None),
    ("PUT", "/api/ContactAddress/999999", {"city": "x"}),
    ("GET", "/api/ContactAddress/ByContact/999999", None),
    ("GET", "/api/ContactIndividual/999999", None),
    ("PUT", "/api/ContactIndividual/999999", {"firstName": "x"}),
    ("GET", "/api/Contact/Find?email=nobody@example.org", None),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN_ID_CALLS)
def test_unknown_ids_answer_404_with_an_empty_body(
    sandbox_client: httpx.Client, method: str, path: str, body: object
) -> None:
    response = sandbox_client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.content == b""


def test_unknown_route_answers_404_with_an_empty_body(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        response = client.get("/api/Nothing/1")
    assert (response.status_code, response.content) == (404, b"")
