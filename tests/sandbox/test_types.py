"""Natural types are required: "true" for a boolean or "2010" for an integer is a 400
whose modelState names the field path the ASP.NET way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import (
    ELEANOR,
    SHOWCASE,
    WINTER_ADDRESS,
    by_id,
    contact,
    model_state,
    ok,
    put,
    without_stamps,
)

CONTACT = f"/api/Contact/{SHOWCASE}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("isPrivate", "true"),  # a string for a boolean
        ("isPrivate", 1),  # a number for a boolean
        ("isPrivate", None),  # booleans are not nullable
        ("anniversaryYear", "2010"),  # a string for an integer
        ("anniversaryYear", True),  # a boolean for an integer
        ("anniversaryYear", 2010.5),  # not a whole number
        ("name", 42),  # a number for a string
        ("tags", "Major Donor"),  # a string for an array
        ("address", "1 Pearl St"),  # a string for an object
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_field(
    sandbox_client: httpx.Client, key: str, value: Any
) -> None:
    before = contact(sandbox_client)
    response = put(sandbox_client, CONTACT, {**before, key: value})
    assert response.json()["message"] == "The request is invalid."
    assert list(model_state(response)) == [f"contact.{key}"]
    assert without_stamps(contact(sandbox_client)) == without_stamps(before)


def test_a_nested_type_error_is_keyed_by_its_full_path(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["contactIndividuals"][0]["isDeceased"] = "false"
    body["contactIndividuals"][1]["contactMethods"][0]["isOptedIn"] = "yes"
    state = model_state(put(sandbox_client, CONTACT, body))
    assert set(state) == {
        "contact.contactIndividuals[0].isDeceased",
        "contact.contactIndividuals[1].contactMethods[0].isOptedIn",
    }
    assert "System.Boolean" in state["contact.contactIndividuals[0].isDeceased"][0]


def test_individual_and_address_puts_key_errors_by_their_own_parameter(
    sandbox_client: httpx.Client,
) -> None:
    individual = model_state(
        put(sandbox_client, f"/api/ContactIndividual/{ELEANOR}", {"birthYear": "1957"})
    )
    address = model_state(
        put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", {"startMonth": "1"})
    )
    assert list(individual) == ["contactIndividual.birthYear"]
    assert list(address) == ["contactAddress.startMonth"]


def test_read_only_fields_of_any_type_are_not_checked(sandbox_client: httpx.Client) -> None:
    body = {**contact(sandbox_client), "id": "not a number", "lifeToDateGiving": 5}
    ok(put(sandbox_client, CONTACT, body))


@pytest.mark.parametrize("raw", [b"{not json", b'{"name": "x",}', b"", b'{"isPrivate": NaN}'])
def test_malformed_json_is_a_400_with_a_message(sandbox_client: httpx.Client, raw: bytes) -> None:
    response = sandbox_client.put(
        CONTACT, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


def test_a_body_that_is_not_an_object_is_refused(sandbox_client: httpx.Client) -> None:
    assert list(model_state(put(sandbox_client, CONTACT, [1, 2]))) == ["contact"]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("2021-03-04", "3/4/2021"),
        ("2021-03-04T10:30:00Z", "3/4/2021"),
        ("2021-12-25T08:00:00.1234567", "12/25/2021"),
    ],
)
def test_a_date_is_written_iso_and_read_as_m_d_yyyy(
    sandbox_client: httpx.Client, sent: str, shown: str
) -> None:
    body = contact(sandbox_client)
    by_id(body["contactIndividuals"], ELEANOR).update(isDeceased=True, deceasedDate=sent)
    eleanor = by_id(ok(put(sandbox_client, CONTACT, body))["contactIndividuals"], ELEANOR)
    assert (eleanor["isDeceased"], eleanor["deceasedDate"]) == (True, shown)


@pytest.mark.parametrize("cleared", ["", None])
def test_an_empty_or_null_date_clears_it(sandbox_client: httpx.Client, cleared: str | None) -> None:
    path = f"/api/ContactIndividual/{ELEANOR}"
    ok(put(sandbox_client, path, {**sandbox_client.get(path).json(), "deceasedDate": "2021-03-04"}))
    after = ok(
        put(sandbox_client, path, {**sandbox_client.get(path).json(), "deceasedDate": cleared})
    )
    assert after["deceasedDate"] == ""


@pytest.mark.parametrize("bad", ["3/4/2021", "2021-02-30", "20210304", "yesterday", 20210304])
def test_a_date_in_any_other_form_is_refused(sandbox_client: httpx.Client, bad: Any) -> None:
    # The read format "M/D/YYYY" too: a client must convert what it read before writing back.
    path = f"/api/ContactIndividual/{ELEANOR}"
    response = put(sandbox_client, path, {**sandbox_client.get(path).json(), "deceasedDate": bad})
    assert list(model_state(response)) == ["contactIndividual.deceasedDate"]


def test_create_checks_types_too(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.post(
        "/api/Contact", json={"name": "X", "contactType": "Household", "isPrivate": "false"}
    )
    assert list(model_state(response)) == ["contact.isPrivate"]
