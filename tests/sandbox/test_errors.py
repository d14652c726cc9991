"""401, 409 and 422 as the live API answers them."""

from __future__ import annotations

import httpx
import pytest

from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ELEANOR,
    ELEANOR_WORK_EMAIL,
    SHOWCASE,
    WINTER_ADDRESS,
    by_id,
    contact,
    ok,
    problems,
    put,
    without_stamps,
)

CONTACT = f"/api/Contact/{SHOWCASE}"
DENIED = {"message": "Authorization has been denied for this request."}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic sandbox-test-token"},
        {"Authorization": "Bearer"},
    ],
)
def test_a_request_without_the_right_bearer_token_is_a_401(
    sandbox: SandboxServer, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{sandbox.base_url}{CONTACT}", headers=headers, verify=False)
    assert (response.status_code, response.json()) == (401, DENIED)


def test_a_refused_write_changes_nothing(sandbox: SandboxServer) -> None:
    httpx.put(f"{sandbox.base_url}{CONTACT}", json={"name": "Intruder"}, verify=False)
    assert sandbox.hooks.raw_contact(SHOWCASE)["name"] == "The Whitfield Household"


def _with_email(client: httpx.Client, value: str) -> httpx.Response:
    body = contact(client)
    by_id(by_id(body["contactIndividuals"], ELEANOR)["contactMethods"], ELEANOR_WORK_EMAIL)[
        "value"
    ] = value
    return put(client, CONTACT, body)


def test_an_email_of_another_contact_is_a_409_naming_it(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    response = _with_email(sandbox_client, "Maria.Alvarez@Example.org")  # 4817's, other case
    assert response.status_code == 409
    assert "Maria.Alvarez@Example.org" in response.json()["message"]
    assert without_stamps(contact(sandbox_client)) == without_stamps(before)


def test_an_email_the_contact_already_holds_may_be_sent_again(sandbox_client: httpx.Client) -> None:
    ok(_with_email(sandbox_client, "thomas.whitfield@example.org"))  # Thomas's, same contact


def test_create_with_an_email_of_another_contact_is_a_409(sandbox_client: httpx.Client) -> None:
    body = {
        "name": "Dup",
        "contactType": "Household",
        "contactIndividuals": [
            {
                "firstName": "E",
                "contactMethods": [
                    {"type": "Home Email", "value": "eleanor.whitfield@example.org"}
                ],
            }
        ],
    }
    assert sandbox_client.post("/api/Contact", json=body).status_code == 409


def test_a_422_has_the_error_shape(sandbox_client: httpx.Client) -> None:
    response = put(sandbox_client, CONTACT, {**contact(sandbox_client), "anniversaryMonth": 13})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "ValidationFailed" and error["message"]
    assert error["details"] == [
        {
            "field": "contact.anniversaryMonth",
            "code": "OutOfRange",
            "message": error["details"][0]["message"],
        }
    ]


def test_a_malformed_email_in_an_email_type_method_is_a_422(sandbox_client: httpx.Client) -> None:
    assert problems(_with_email(sandbox_client, "ewhitfield-at-work")) == {
        ("contact.contactIndividuals[0].contactMethods[2].value", "InvalidEmail")
    }


def test_a_phone_value_is_not_checked_as_an_email(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    by_id(body["contactIndividuals"], ELEANOR)["contactMethods"][1]["value"] = "+1 (303) 555-0100"
    ok(put(sandbox_client, CONTACT, body))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"anniversaryDay": 32}, ("contact.anniversaryDay", "OutOfRange")),
        ({"anniversaryDay": 0}, ("contact.anniversaryDay", "OutOfRange")),
        ({"contactType": "Church"}, ("contact.contactType", "UnknownContactType")),
        ({"name": "   "}, ("contact.name", "Required")),
        ({"name": None}, ("contact.name", "Required")),
        (
            {"customFields": [{"name": "Favourite Colour", "value": "Teal"}]},
            ("contact.customFields[0].name", "UnknownCustomField"),
        ),
    ],
)
def test_invalid_values_are_a_422_naming_the_field(
    sandbox_client: httpx.Client, change: dict[str, object], expected: tuple[str, str]
) -> None:
    before = contact(sandbox_client)
    assert problems(put(sandbox_client, CONTACT, {**before, **change})) == {expected}
    assert without_stamps(contact(sandbox_client)) == without_stamps(before)


def test_birth_month_and_address_ranges_are_checked(sandbox_client: httpx.Client) -> None:
    individual = put(sandbox_client, f"/api/ContactIndividual/{ELEANOR}", {"birthMonth": 0})
    address = put(
        sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", {"endDay": 40, "startMonth": 13}
    )
    assert problems(individual) == {("contactIndividual.birthMonth", "OutOfRange")}
    assert problems(address) == {
        ("contactAddress.endDay", "OutOfRange"),
        ("contactAddress.startMonth", "OutOfRange"),
    }


def test_replace_without_a_name_is_a_422_because_the_name_is_cleared(
    replace_client: httpx.Client,
) -> None:
    assert problems(put(replace_client, CONTACT, {"contactType": "Household"})) == {
        ("contact.name", "Required")
    }


def test_an_org_defined_contact_subtype_is_accepted(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(contact_subtypes=("Church",))
    with client_for(server) as client:
        after = ok(put(client, CONTACT, {**contact(client), "contactType": "Church"}))
    assert after["contactType"] == "Church"


def test_an_unsupported_method_names_itself(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.delete(CONTACT)
    assert response.status_code == 405
    assert "DELETE" in response.json()["message"]


def test_a_body_nested_past_any_contact_is_a_400_not_a_500(sandbox_client: httpx.Client) -> None:
    # Deep enough to exhaust the JSON parser's stack, and just past the engine's limit.
    for depth in (5000, 40):
        body = '{"search": ' + "[" * depth + "1" + "]" * depth + "}"
        for method, path in (("POST", "/api/Contact/Search"), ("PUT", "/api/Contact/4821")):
            response = sandbox_client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400, (depth, path, response.text)
            assert "nests more than" in response.json()["message"]
