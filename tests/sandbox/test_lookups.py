"""Lookups: by reference, Contact/Search, ContactIndividual Find/ByContact, Contact/Types,
Organization. Each as strict as the existing routes (auth, rate headers, 404 empty)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ARCHIVED_CONTACT,
    ELEANOR,
    LIVE_IDS,
    SHOWCASE,
    THOMAS,
    contact,
    ok,
    put,
)
from tests.sandbox.query_helpers import ABBREVIATED, condition, one_group

SEARCH = "/api/Contact/Search"
FIND_INDIVIDUAL = "/api/ContactIndividual/Find"
SHOWCASE_REFERENCE = "/api/Contact/PartnerPlatform/PP-10021"
HOUSEHOLDS_WITH_A_WINTER_ADDRESS = [4817, 4818, 4819, 4820, 4821]  # 4822 is archived

NEW_ROUTES = [
    ("GET", SHOWCASE_REFERENCE, None),
    ("GET", "/api/Contact/ByReference/PP-10021", None),
    ("POST", SEARCH, {"search": "Whitfield"}),
    ("GET", f"{FIND_INDIVIDUAL}?email=eleanor.whitfield@example.org", None),
    ("GET", f"/api/ContactIndividual/ByContact/{SHOWCASE}", None),
    ("GET", "/api/Contact/Types", None),
    ("GET", "/api/Organization", None),
]


def search(client: httpx.Client, text: Any, **params: int) -> httpx.Response:
    return client.post(SEARCH, params=params, json={"search": text})


def found_ids(client: httpx.Client, text: str, **params: int) -> list[int]:
    return [item["id"] for item in ok(search(client, text, **params))["list"]]


def assert_404_empty(response: httpx.Response) -> None:
    assert (response.status_code, response.content) == (404, b"")


# -- transport: the same gate as every other route -------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), NEW_ROUTES)
def test_new_routes_refuse_a_missing_token_and_spend_the_budget(
    sandbox: SandboxServer, method: str, path: str, body: object
) -> None:
    with client_for(sandbox, token="wrong") as stranger:
        refused = stranger.request(method, path, json=body)
    assert refused.status_code == 401
    assert refused.json() == {"message": "Authorization has been denied for this request."}
    with client_for(sandbox) as client:
        first = client.request(method, path, json=body)
        second = client.request(method, path, json=body)
    assert first.status_code == second.status_code == 200
    remaining = int(first.headers["X-RateLimit-Remaining"])
    assert int(second.headers["X-RateLimit-Remaining"]) == remaining - 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/Contact/Query/FullContact"),
        ("GET", f"/api/Contact/Archive/{SHOWCASE}"),
        ("GET", f"/api/Contact/Unarchive/{SHOWCASE}"),
        ("POST", SHOWCASE_REFERENCE),
        ("PUT", "/api/Contact/ByReference/PP-10021"),
        ("GET", SEARCH),
        ("POST", "/api/Contact/Types"),
        ("POST", f"/api/ContactIndividual/ByContact/{SHOWCASE}"),
        ("DELETE", "/api/Organization"),
    ],
)
def test_a_path_known_for_another_method_still_answers_405(
    sandbox_client: httpx.Client, method: str, path: str
) -> None:
    # GET /api/Contact/{referenceSource}/{referenceId} is all parameters: it must not turn
    # "wrong method" on a path another route owns into a lookup (404) or an answer (200).
    response = sandbox_client.request(method, path)
    assert response.status_code == 405
    assert response.json() == {
        "message": f"The requested resource does not support http method '{method}'."
    }


# -- by reference ----------------------------------------------------------------------------


def test_by_source_and_id_is_the_full_contact(sandbox_client: httpx.Client) -> None:
    assert ok(sandbox_client.get(SHOWCASE_REFERENCE)) == contact(sandbox_client)


@pytest.mark.parametrize(
    "path",
    [
        "/api/Contact/partnerplatform/PP-10021",  # the source is matched exactly
        "/api/Contact/PartnerPlatform/pp-10021",  # so is the id
        "/api/Contact/Portal/PP-10021",  # an id under another source
        "/api/Contact/PartnerPlatform/PP-99999",
        "/api/Contact/ByReference/PP-99999",
        "/api/Contact/ByReference/pp-10021",
    ],
)
def test_no_exact_reference_is_a_404_with_an_empty_body(
    sandbox_client: httpx.Client, path: str
) -> None:
    assert_404_empty(sandbox_client.get(path))


def test_path_parts_are_url_decoded(sandbox: SandboxServer) -> None:
    reference = {"source": "Face to Face Campaign 01", "id": "sarah@example.com"}
    sandbox.hooks.ui_edit(4818, {"contactReferences": [reference]})
    with client_for(sandbox) as client:
        found = ok(client.get("/api/Contact/Face%20to%20Face%20Campaign%2001/sarah%40example.com"))
        assert found["id"] == 4818
        assert ok(client.get("/api/Contact/ByReference/sarah@example.com"))["id"] == 4818


def test_by_reference_id_picks_the_lowest_contact_when_sources_share_the_id(
    sandbox: SandboxServer,
) -> None:
    sandbox.hooks.ui_edit(4817, {"contactReferences": [{"source": "Portal", "id": "PP-10021"}]})
    with client_for(sandbox) as client:
        assert ok(client.get("/api/Contact/ByReference/PP-10021"))["id"] == 4817
        # Naming the source is how a client gets the one it means.
        assert ok(client.get(SHOWCASE_REFERENCE))["id"] == SHOWCASE
        assert ok(client.get("/api/Contact/Portal/PP-10021"))["id"] == 4817


def test_by_reference_sees_archived_contacts(sandbox: SandboxServer) -> None:
    reference = {"source": "PartnerPlatform", "id": "PP-10022"}
    sandbox.hooks.ui_edit(ARCHIVED_CONTACT, {"contactReferences": [reference]})
    with client_for(sandbox) as client:
        for path in ("/api/Contact/PartnerPlatform/PP-10022", "/api/Contact/ByReference/PP-10022"):
            assert ok(client.get(path))["id"] == ARCHIVED_CONTACT


def test_a_merged_away_contact_is_found_through_the_survivor(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, 4820)  # 4819 holds PP-10019; the survivor gains it
    with client_for(sandbox) as client:
        for path in ("/api/Contact/PartnerPlatform/PP-10019", "/api/Contact/ByReference/PP-10019"):
            assert ok(client.get(path))["id"] == 4820


def test_a_reference_written_through_put_is_found(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client, 4820)
    body["contactReferences"].append({"source": "Shop", "id": "S-1"})
    ok(put(sandbox_client, "/api/Contact/4820", body))
    assert ok(sandbox_client.get("/api/Contact/Shop/S-1"))["id"] == 4820
    assert ok(sandbox_client.get("/api/Contact/ByReference/S-1"))["id"] == 4820


# -- Contact/Search --------------------------------------------------------------------------


def test_search_lists_the_abbreviated_contacts_of_contact_query(
    sandbox_client: httpx.Client,
) -> None:
    # Both routes answer the same list item (ContactListItem), built by the same code.
    showcase_only = one_group(condition("Contact Id", "Is", SHOWCASE))
    by_query = ok(sandbox_client.post(ABBREVIATED, json=showcase_only))
    answer = ok(search(sandbox_client, "whitfield"))
    assert answer == {"list": by_query["list"], "total": 1}
    assert answer["list"][0]["contactName"] == "Eleanor Whitfield"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WHITFIELD HOUSE", [SHOWCASE]),  # contact name, any case, partial
        ("thomas", [SHOWCASE]),  # an individual who is not the primary one
        ("Eleanor Whitfield", [SHOWCASE]),  # a full name
        ("ewhitfield@work", [SHOWCASE]),  # part of an email
        ("555-01211", [SHOWCASE]),  # a phone
        ("80302", [SHOWCASE]),  # a postal code
        ("naples", HOUSEHOLDS_WITH_A_WINTER_ADDRESS),  # a city of a non-primary address
        ("Harbor Light", [4824]),
        ("4821", []),  # the id is not searched: that is GET /api/Contact/{id}
        ("nobody at all", []),
    ],
)
def test_search_matches_name_email_phone_or_address_in_part(
    sandbox_client: httpx.Client, text: str, expected: list[int]
) -> None:
    assert found_ids(sandbox_client, text) == expected


def test_search_leaves_archived_and_merged_away_contacts_out(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, 4820)
    with client_for(sandbox) as client:
        assert ok(search(client, "Brennan")) == {"list": [], "total": 0}  # archived
        assert found_ids(client, "Lindqvist") == []  # merged away
        assert 4819 not in found_ids(client, "naples", take=100)


def test_search_pages_with_skip_and_take_and_counts_every_match(
    sandbox_client: httpx.Client,
) -> None:
    page = ok(search(sandbox_client, "naples", skip=1, take=2))
    assert [item["id"] for item in page["list"]] == HOUSEHOLDS_WITH_A_WINTER_ADDRESS[1:3]
    assert page["total"] == len(HOUSEHOLDS_WITH_A_WINTER_ADDRESS)
    # take defaults to 10, as on Query/FullContact.
    assert len(ok(search(sandbox_client, "example"))["list"]) == 7 == len(LIVE_IDS)


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({}, {}),
        ({"search": 5}, {}),
        ({"search": "   "}, {}),
        (["Whitfield"], {}),
        ({"search": "Whitfield"}, {"take": "1001"}),
        ({"search": "Whitfield"}, {"skip": "-1"}),
    ],
)
def test_a_bad_search_is_a_400_with_a_message(
    sandbox_client: httpx.Client, body: object, params: dict[str, str]
) -> None:
    response = sandbox_client.post(SEARCH, params=params, json=body)
    assert response.status_code == 400 and response.json()["message"]


def test_search_sees_a_rename_written_through_put(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["name"] = "The Whitfield-Ross Household"
    ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", body))
    [item] = ok(search(sandbox_client, "ross hou"))["list"]
    assert (item["id"], item["name"]) == (SHOWCASE, "The Whitfield-Ross Household")


# -- ContactIndividual/Find and ByContact ----------------------------------------------------


@pytest.mark.parametrize(
    ("email", "individual_id"),
    [
        ("Eleanor.Whitfield@EXAMPLE.org", ELEANOR),  # exact, any case
        ("ewhitfield@work.example.com", ELEANOR),  # any email-type method
        ("thomas.whitfield@example.org", THOMAS),
        ("siobhan.brennan@example.org", 48221),  # archived contacts are found
    ],
)
def test_find_individual_by_email_is_that_individual(
    sandbox_client: httpx.Client, email: str, individual_id: int
) -> None:
    found = ok(sandbox_client.get(FIND_INDIVIDUAL, params={"email": email}))
    assert found == ok(sandbox_client.get(f"/api/ContactIndividual/{individual_id}"))


@pytest.mark.parametrize("email", ["eleanor.whitfield", "example.org", "555-01211"])
def test_find_individual_by_part_of_an_email_or_a_phone_is_a_404(
    sandbox_client: httpx.Client, email: str
) -> None:
    assert_404_empty(sandbox_client.get(FIND_INDIVIDUAL, params={"email": email}))


@pytest.mark.parametrize("params", [{}, {"email": ""}])
def test_find_individual_without_an_email_is_a_400(
    sandbox_client: httpx.Client, params: dict[str, str]
) -> None:
    response = sandbox_client.get(FIND_INDIVIDUAL, params=params)
    assert response.status_code == 400 and response.json()["message"]


def test_find_individual_follows_an_email_changed_through_put(
    sandbox_client: httpx.Client,
) -> None:
    body = contact(sandbox_client)
    thomas = next(i for i in body["contactIndividuals"] if i["id"] == THOMAS)
    thomas["contactMethods"][0]["value"] = "tom@example.net"
    ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", body))
    assert ok(sandbox_client.get(FIND_INDIVIDUAL, params={"email": "tom@example.net"}))["id"] == (
        THOMAS
    )
    old = sandbox_client.get(FIND_INDIVIDUAL, params={"email": "thomas.whitfield@example.org"})
    assert_404_empty(old)


def test_find_individual_ignores_merged_away_contacts(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, 4820)
    with client_for(sandbox) as client:
        response = client.get(FIND_INDIVIDUAL, params={"email": "sofia.lindqvist@example.org"})
    assert_404_empty(response)


def test_by_contact_is_a_bare_array_of_the_contacts_individuals(
    sandbox_client: httpx.Client,
) -> None:
    listed = ok(sandbox_client.get(f"/api/ContactIndividual/ByContact/{SHOWCASE}"))
    assert isinstance(listed, list)
    assert listed == contact(sandbox_client)["contactIndividuals"]
    assert [i["id"] for i in listed] == [ELEANOR, THOMAS]
    assert len(ok(sandbox_client.get("/api/ContactIndividual/ByContact/4824"))) == 1


def test_by_contact_of_an_unknown_contact_is_a_404(sandbox_client: httpx.Client) -> None:
    assert_404_empty(sandbox_client.get("/api/ContactIndividual/ByContact/999999"))


def test_by_contact_answers_for_a_merged_away_contact_as_get_does(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, 4820)  # pointer mode: GET /api/Contact/4819 still answers
    with client_for(sandbox) as client:
        listed = ok(client.get("/api/ContactIndividual/ByContact/4819"))
        assert listed == contact(client, 4819)["contactIndividuals"]
        assert [i["firstName"] for i in listed] == ["Sofia", "Erik"]


def test_by_contact_lists_an_individual_added_through_put(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["contactIndividuals"].append({"firstName": "Ruth", "lastName": "Whitfield"})
    ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", body))
    listed = ok(sandbox_client.get(f"/api/ContactIndividual/ByContact/{SHOWCASE}"))
    assert [i["firstName"] for i in listed] == ["Eleanor", "Thomas", "Ruth"]


# -- Contact/Types and Organization ----------------------------------------------------------


BUILTIN_TYPES = [
    {"parentType": "Household", "type": "Household"},
    {"parentType": "Organization", "type": "Organization"},
    {"parentType": "Foundation", "type": "Foundation"},
]


def test_contact_types_are_the_builtin_ones_by_default(sandbox_client: httpx.Client) -> None:
    assert ok(sandbox_client.get("/api/Contact/Types")) == BUILTIN_TYPES


def test_contact_types_list_the_orgs_subtypes_and_writes_accept_exactly_those(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(contact_subtypes=("Church", "School"))
    with client_for(server) as client:
        types = ok(client.get("/api/Contact/Types"))
        assert types == [
            *BUILTIN_TYPES,
            {"parentType": "Organization", "type": "Church"},
            {"parentType": "Organization", "type": "School"},
        ]
        for listed in types:
            body = {"name": f"A {listed['type']}", "contactType": listed["type"]}
            assert ok(client.post("/api/Contact", json=body))["contactType"] == listed["type"]
        refused = client.post("/api/Contact", json={"name": "X", "contactType": "Business"})
        assert refused.status_code == 422


def test_organization_is_a_bare_array_with_the_sandbox_organisation(
    sandbox_client: httpx.Client,
) -> None:
    [organization] = ok(sandbox_client.get("/api/Organization"))
    assert organization["name"] == "Sandbox Organization"
    assert isinstance(organization["id"], int)
    assert isinstance(organization["isAdmin"], bool)
