"""ContactAddress writes: POST (create, setAsPrimary), PUT (setAsPrimary, the primary kept),
Archive and Unarchive; one primary per contact, refused writes leave nothing; an unknown
state or country reads "", never null."""

from __future__ import annotations

from typing import Any

import httpx

from syncengine.domain.schema import CONTACT_ADDRESS
from syncengine.sandbox import SandboxServer
from tests.sandbox.helpers import (
    HOME_ADDRESS,
    SHOWCASE,
    WINTER_ADDRESS,
    contact,
    model_state,
    ok,
    problems,
    put,
)

NEW_ADDRESS: dict[str, Any] = {
    "contactId": SHOWCASE,
    "label": "Office",
    "address1": " 1 Pearl St ",
    "address2": None,
    "city": "Boulder",
    "state": "co",
    "postal": "80302",
    "country": "United States",
    "startMonth": 1,
    "startDay": 1,
    "endMonth": 12,
    "endDay": 31,
}


def listed(client: httpx.Client, contact_id: int = SHOWCASE) -> dict[int, dict[str, Any]]:
    response = client.get(f"/api/ContactAddress/ByContact/{contact_id}")
    return {a["id"]: a for a in ok(response)}


def primaries(client: httpx.Client, contact_id: int = SHOWCASE) -> list[int]:
    return [i for i, a in listed(client, contact_id).items() if a["isPrimary"]]


def address(client: httpx.Client, address_id: int) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.get(f"/api/ContactAddress/{address_id}"))
    return data


def create(client: httpx.Client, **changes: Any) -> httpx.Response:
    return client.post("/api/ContactAddress", json={**NEW_ADDRESS, **changes})


def archive(client: httpx.Client, address_id: int, action: str = "Archive") -> httpx.Response:
    return client.put(f"/api/ContactAddress/{action}/{address_id}")


def assert_unchanged(server: SandboxServer, raw_before: dict[str, Any]) -> None:
    assert server.hooks.raw_contact(SHOWCASE) == raw_before


# -- POST /api/ContactAddress ----------------------------------------------------------------


def test_create_answers_the_new_address_in_the_get_shape(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    created = ok(create(sandbox_client))
    assert set(created) == set(CONTACT_ADDRESS)
    assert created["id"] not in (HOME_ADDRESS, WINTER_ADDRESS)
    assert created["contactId"] == SHOWCASE
    # Normalised as every write: trimmed, the US state code upper-cased.
    assert (created["address1"], created["state"]) == ("1 Pearl St", "CO")
    assert (created["isPrimary"], created["canBePrimary"]) == (False, True)
    assert created["createdByUser"] == created["modifiedByUser"] == "Sandbox API User"
    assert address(sandbox_client, created["id"]) == created
    assert listed(sandbox_client)[created["id"]] == created
    after = contact(sandbox_client)
    assert after["address"] == before["address"]  # not asked to be the primary
    assert after["modifiedDateTimeUtc"] == created["modifiedDateTimeUtc"]
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]


def test_create_with_set_as_primary_demotes_the_former_primary(
    sandbox_client: httpx.Client,
) -> None:
    home_before = address(sandbox_client, HOME_ADDRESS)
    created = ok(create(sandbox_client, setAsPrimary=True))
    assert (created["isPrimary"], created["canBePrimary"]) == (True, False)
    assert contact(sandbox_client)["address"]["id"] == created["id"]
    home = listed(sandbox_client)[HOME_ADDRESS]  # still there, as a non-primary address
    assert (home["isPrimary"], home["canBePrimary"]) == (False, True)
    assert home["address1"] == home_before["address1"]
    assert home["modifiedDateTimeUtc"] == created["modifiedDateTimeUtc"]
    assert primaries(sandbox_client) == [created["id"]]


def test_the_first_address_of_a_contact_becomes_its_primary(
    sandbox_client: httpx.Client,
) -> None:
    new_contact = ok(
        sandbox_client.post("/api/Contact", json={"contactType": "Household", "name": "The Roes"})
    )
    assert new_contact["address"] is None
    first = ok(create(sandbox_client, contactId=new_contact["id"]))
    assert first["isPrimary"] is True
    second = ok(create(sandbox_client, contactId=new_contact["id"], label="Second"))
    assert second["isPrimary"] is False
    assert contact(sandbox_client, new_contact["id"])["address"]["id"] == first["id"]


def test_create_refusals_leave_nothing(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    raw_before = sandbox.hooks.raw_contact(SHOWCASE)
    no_contact = {k: v for k, v in NEW_ADDRESS.items() if k != "contactId"}
    missing = sandbox_client.post("/api/ContactAddress", json=no_contact)
    assert list(model_state(missing)) == ["contactAddress.contactId"]
    assert list(model_state(create(sandbox_client, setAsPrimary="true"))) == [
        "contactAddress.setAsPrimary"
    ]
    assert list(model_state(create(sandbox_client, contactId=str(SHOWCASE)))) == [
        "contactAddress.contactId"
    ]
    assert problems(create(sandbox_client, endMonth=13, setAsPrimary=True)) == {
        ("contactAddress.endMonth", "OutOfRange")
    }
    unknown = create(sandbox_client, contactId=999_999)
    assert (unknown.status_code, unknown.content) == (404, b"")
    assert_unchanged(sandbox, raw_before)


# -- PUT /api/ContactAddress/{id} ------------------------------------------------------------


def test_set_as_primary_on_update_moves_the_primary(sandbox_client: httpx.Client) -> None:
    body = address(sandbox_client, WINTER_ADDRESS) | {"setAsPrimary": True}
    del body["isPrimary"]
    after = ok(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))
    assert (after["isPrimary"], after["canBePrimary"]) == (True, False)
    reread = contact(sandbox_client)
    assert reread["address"]["id"] == WINTER_ADDRESS
    home = listed(sandbox_client)[HOME_ADDRESS]
    assert (home["isPrimary"], home["canBePrimary"]) == (False, True)
    assert home["modifiedDateTimeUtc"] == after["modifiedDateTimeUtc"]
    assert reread["modifiedDateTimeUtc"] == after["modifiedDateTimeUtc"]


def test_an_update_that_omits_the_primary_flag_keeps_the_primary(
    sandbox_client: httpx.Client,
) -> None:
    # Under replace semantics the omitted flag used to be cleared: 200, and no primary left.
    body = {k: v for k, v in address(sandbox_client, HOME_ADDRESS).items() if k != "isPrimary"}
    after = ok(put(sandbox_client, f"/api/ContactAddress/{HOME_ADDRESS}", body | {"city": "Lyons"}))
    assert (after["city"], after["isPrimary"], after["canBePrimary"]) == ("Lyons", True, False)
    assert contact(sandbox_client)["address"]["id"] == HOME_ADDRESS
    assert primaries(sandbox_client) == [HOME_ADDRESS]


def test_a_minimal_update_under_replace_clears_fields_but_not_the_primary(
    replace_client: httpx.Client,
) -> None:
    after = ok(put(replace_client, f"/api/ContactAddress/{HOME_ADDRESS}", {"city": "Lyons"}))
    assert (after["city"], after["address1"], after["isPrimary"]) == ("Lyons", None, True)
    assert contact(replace_client)["address"]["id"] == HOME_ADDRESS


def test_false_never_demotes_the_primary(sandbox_client: httpx.Client) -> None:
    home = address(sandbox_client, HOME_ADDRESS)
    for flags in ({"isPrimary": False}, {"setAsPrimary": False, "isPrimary": False}):
        after = ok(put(sandbox_client, f"/api/ContactAddress/{HOME_ADDRESS}", home | flags))
        assert after["isPrimary"] is True
        assert after["modifiedDateTimeUtc"] == home["modifiedDateTimeUtc"]  # nothing changed
    assert primaries(sandbox_client) == [HOME_ADDRESS]


def test_set_as_primary_must_be_a_boolean(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    raw_before = sandbox.hooks.raw_contact(SHOWCASE)
    body = address(sandbox_client, WINTER_ADDRESS) | {"setAsPrimary": "true"}
    state = model_state(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))
    assert list(state) == ["contactAddress.setAsPrimary"]
    assert_unchanged(sandbox, raw_before)


def test_a_contact_put_whose_address_omits_the_flag_keeps_the_primary(
    sandbox_client: httpx.Client,
) -> None:
    body = contact(sandbox_client)
    del body["address"]["isPrimary"]
    body["address"]["city"] = "Lyons"
    after = ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", body))
    assert (after["address"]["id"], after["address"]["city"]) == (HOME_ADDRESS, "Lyons")


# -- Archive / Unarchive ---------------------------------------------------------------------


def test_archive_takes_an_address_out_of_by_contact(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    response = archive(sandbox_client, WINTER_ADDRESS)
    assert (response.status_code, response.content) == (200, b"")
    assert list(listed(sandbox_client)) == [HOME_ADDRESS]
    after = contact(sandbox_client)
    assert after["address"] == before["address"]
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]
    # It still exists: GET by id answers it, never as a possible primary.
    shelved = address(sandbox_client, WINTER_ADDRESS)
    assert (shelved["isPrimary"], shelved["canBePrimary"]) == (False, False)
    assert shelved["modifiedDateTimeUtc"] == after["modifiedDateTimeUtc"]


def test_the_primary_address_cannot_be_archived(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    raw_before = sandbox.hooks.raw_contact(SHOWCASE)
    assert problems(archive(sandbox_client, HOME_ADDRESS)) == {
        ("contactAddress.isPrimary", "PrimaryAddress")
    }
    assert_unchanged(sandbox, raw_before)
    # Promote another first, then the former primary may go.
    body = address(sandbox_client, WINTER_ADDRESS) | {"setAsPrimary": True}
    ok(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))
    assert archive(sandbox_client, HOME_ADDRESS).status_code == 200
    assert list(listed(sandbox_client)) == [WINTER_ADDRESS]


def test_an_archived_address_cannot_be_made_primary(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    assert archive(sandbox_client, WINTER_ADDRESS).status_code == 200
    raw_before = sandbox.hooks.raw_contact(SHOWCASE)
    body = address(sandbox_client, WINTER_ADDRESS) | {"setAsPrimary": True}
    refused = put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body)
    assert problems(refused) == {("contactAddress.setAsPrimary", "ArchivedAddress")}
    # Nor through the contact: an archived address is not one of the contact's addresses.
    whole = contact(sandbox_client) | {"address": body | {"isPrimary": True}}
    state = model_state(put(sandbox_client, f"/api/Contact/{SHOWCASE}", whole))
    assert list(state) == ["contact.address.id"]
    assert_unchanged(sandbox, raw_before)


def test_an_archived_address_can_still_be_edited(sandbox_client: httpx.Client) -> None:
    assert archive(sandbox_client, WINTER_ADDRESS).status_code == 200
    body = address(sandbox_client, WINTER_ADDRESS) | {"city": "Sarasota"}
    after = ok(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))
    assert (after["city"], after["isPrimary"]) == ("Sarasota", False)
    assert WINTER_ADDRESS not in listed(sandbox_client)


def test_unarchive_restores_a_non_primary_address(sandbox_client: httpx.Client) -> None:
    assert archive(sandbox_client, WINTER_ADDRESS).status_code == 200
    response = archive(sandbox_client, WINTER_ADDRESS, "Unarchive")
    assert (response.status_code, response.content) == (200, b"")
    restored = listed(sandbox_client)[WINTER_ADDRESS]
    assert (restored["isPrimary"], restored["canBePrimary"]) == (False, True)
    assert primaries(sandbox_client) == [HOME_ADDRESS]


def test_unarchive_gives_a_contact_without_primary_its_primary(
    sandbox_client: httpx.Client,
) -> None:
    assert archive(sandbox_client, WINTER_ADDRESS).status_code == 200
    # A contact PUT with "address": null deletes the primary: no live address is left.
    ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", contact(sandbox_client) | {"address": None}))
    assert listed(sandbox_client) == {}
    assert archive(sandbox_client, WINTER_ADDRESS, "Unarchive").status_code == 200
    assert contact(sandbox_client)["address"]["id"] == WINTER_ADDRESS


def test_archive_and_unarchive_twice_are_harmless(sandbox_client: httpx.Client) -> None:
    for action in ("Archive", "Archive", "Unarchive", "Unarchive"):
        assert archive(sandbox_client, WINTER_ADDRESS, action).status_code == 200
    assert list(listed(sandbox_client)) == [HOME_ADDRESS, WINTER_ADDRESS]


def test_unknown_address_ids_are_404_with_an_empty_body(sandbox_client: httpx.Client) -> None:
    for response in (
        archive(sandbox_client, 999_999),
        archive(sandbox_client, 999_999, "Unarchive"),
        put(sandbox_client, "/api/ContactAddress/999999", {"city": "x"}),
    ):
        assert (response.status_code, response.content) == (404, b"")


def test_an_archived_address_survives_saving_and_loading_the_state(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    # A contact that never had an archived address shows no such list in its raw view.
    assert "archivedContactAddresses" not in sandbox.hooks.raw_contact(SHOWCASE)
    assert archive(sandbox_client, WINTER_ADDRESS).status_code == 200
    shelved = sandbox.hooks.raw_contact(SHOWCASE)["archivedContactAddresses"]
    assert [a["id"] for a in shelved] == [WINTER_ADDRESS]
    saved = sandbox.hooks.raw_state()
    sandbox.hooks.seed(saved)
    assert sandbox.hooks.raw_state() == saved
    assert list(listed(sandbox_client)) == [HOME_ADDRESS]
    assert address(sandbox_client, WINTER_ADDRESS)["canBePrimary"] is False


# -- an unknown state or country reads "", never null ----------------------------------------

# (city, state, postal, country) of an address never given them, as crmplus-api.md and the
# recorded response (tests/data/contact.json) show it: "" for state and country, null for
# city and postal. A client that reads null there has met a sandbox, not the live API.
UNSET = (None, "", None, "")


def location(address: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(address[key] for key in ("city", "state", "postal", "country"))


def test_an_address_created_without_state_or_country_reads_them_as_empty_text(
    sandbox_client: httpx.Client,
) -> None:
    created = ok(sandbox_client.post("/api/ContactAddress", json={"contactId": SHOWCASE}))
    assert location(created) == UNSET
    assert location(address(sandbox_client, created["id"])) == UNSET
    assert location(listed(sandbox_client)[created["id"]]) == UNSET
    # The create-only shape of POST /api/Contact, without stateCode or countryCode.
    body = {"contactType": "Household", "name": "The Roes", "contactAddresses": [{}]}
    assert location(ok(sandbox_client.post("/api/Contact", json=body))["address"]) == UNSET
    # A Contact PUT whose ``address`` has no id creates a new primary one.
    edited = {**contact(sandbox_client), "address": {"address1": "2 Side St"}}
    answered = ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", edited))
    assert location(answered["address"]) == UNSET


def test_clearing_state_or_country_leaves_empty_text(sandbox_client: httpx.Client) -> None:
    cleared = {"city": None, "state": None, "postal": None, "country": None}
    body = {**address(sandbox_client, WINTER_ADDRESS), **cleared}
    assert location(ok(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))) == UNSET
    assert location(address(sandbox_client, WINTER_ADDRESS)) == UNSET


def test_a_replace_put_that_omits_state_and_country_leaves_empty_text(
    replace_client: httpx.Client,
) -> None:
    path = f"/api/ContactAddress/{WINTER_ADDRESS}"
    assert location(ok(put(replace_client, path, {"address1": "1 Pearl St"}))) == UNSET


def test_a_seeded_null_state_or_country_reads_as_empty_text(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    state = sandbox.hooks.raw_state()
    showcase = next(c for c in state["contacts"] if c["id"] == SHOWCASE)
    for seeded in showcase["contactAddresses"]:
        seeded.update(state=None, country=None)
    sandbox.hooks.seed(state)
    assert {(a["state"], a["country"]) for a in listed(sandbox_client).values()} == {("", "")}
    primary = contact(sandbox_client)["address"]
    assert (primary["state"], primary["country"]) == ("", "")
