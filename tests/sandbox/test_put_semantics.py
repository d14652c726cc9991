"""PUT semantics: replace clears what the body omits, patch keeps it; items by identity."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import (
    ELEANOR,
    ELEANOR_HOME_EMAIL,
    ELEANOR_PHONE,
    ELEANOR_WORK_EMAIL,
    HOME_ADDRESS,
    SHOWCASE,
    THOMAS,
    WINTER_ADDRESS,
    by_id,
    contact,
    custom_values,
    model_state,
    ok,
    put,
    without_stamps,
)

CONTACT = f"/api/Contact/{SHOWCASE}"
MINIMAL = {"name": "The Whitfield Household", "contactType": "Household"}


def addresses(client: httpx.Client) -> dict[int, dict[str, Any]]:
    return {a["id"]: a for a in client.get(f"/api/ContactAddress/ByContact/{SHOWCASE}").json()}


def test_echoing_the_full_record_changes_nothing_but_the_contact_stamp(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    after = ok(put(sandbox_client, CONTACT, before))
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]
    assert without_stamps(after) == without_stamps(before)
    # Nothing inside changed, so no item was stamped.
    assert after["contactIndividuals"] == before["contactIndividuals"]
    assert after["address"] == before["address"]


def test_replace_clears_every_writable_field_the_body_omits(replace_client: httpx.Client) -> None:
    after = ok(put(replace_client, CONTACT, MINIMAL))
    assert after["name"] == "The Whitfield Household"
    assert after["informalName"] is None  # string -> null
    assert after["isPrivate"] is False  # bool -> false
    assert after["anniversaryMonth"] is None  # int -> null
    assert after["contactIndividuals"] == []  # array -> emptied
    assert after["tags"] == [] and after["organizationGroups"] == []
    assert after["contactReferences"] == []
    assert set(custom_values(after).values()) == {None}
    assert after["address"] is None  # the primary address is removed...
    assert list(addresses(replace_client)) == [WINTER_ADDRESS]  # ...the others stay


def test_patch_keeps_every_field_the_body_omits(patch_client: httpx.Client) -> None:
    before = contact(patch_client)
    after = ok(put(patch_client, CONTACT, {"description": "Met at the 2024 gala"}))
    assert after["description"] == "Met at the 2024 gala"
    assert without_stamps({**after, "description": None}) == without_stamps(before)


def test_replace_keeps_read_only_fields_whatever_the_body_says(
    replace_client: httpx.Client,
) -> None:
    before = contact(replace_client)
    body = {
        **MINIMAL,
        "id": 1,
        "giftAskAmount": "$9",
        "contactGiftsUrl": "/x",
        "createdByUser": "me",
    }
    after = ok(put(replace_client, CONTACT, body))
    for key in ("id", "giftAskAmount", "contactGiftsUrl", "createdByUser", "createDateTimeUtc"):
        assert after[key] == before[key]


def test_unknown_keys_and_is_archived_are_ignored_on_put(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    after = ok(put(sandbox_client, CONTACT, {**before, "shoeSize": 44, "isArchived": True}))
    assert "shoeSize" not in after
    ids = [
        c["id"]
        for c in sandbox_client.post("/api/Contact/Query/FullContact", json={}).json()["list"]
    ]
    assert SHOWCASE in ids  # not archived


def test_replace_drops_individuals_the_body_leaves_out(replace_client: httpx.Client) -> None:
    body = contact(replace_client)
    body["contactIndividuals"] = [by_id(body["contactIndividuals"], ELEANOR)]
    after = ok(put(replace_client, CONTACT, body))
    assert [i["id"] for i in after["contactIndividuals"]] == [ELEANOR]
    assert replace_client.get(f"/api/ContactIndividual/{THOMAS}").status_code == 404


def test_patch_keeps_individuals_the_body_leaves_out(patch_client: httpx.Client) -> None:
    body = {"contactIndividuals": [{"id": ELEANOR, "nickname": "Nell"}]}
    after = ok(put(patch_client, CONTACT, body))
    assert [i["id"] for i in after["contactIndividuals"]] == [ELEANOR, THOMAS]
    assert by_id(after["contactIndividuals"], ELEANOR)["nickname"] == "Nell"
    assert by_id(after["contactIndividuals"], ELEANOR)["lastName"] == "Whitfield"


def test_replace_clears_the_omitted_fields_of_an_item_it_sends(
    replace_client: httpx.Client,
) -> None:
    body = contact(replace_client)
    body["contactIndividuals"] = [{"id": ELEANOR, "firstName": "Eleanor"}]
    eleanor = ok(put(replace_client, CONTACT, body))["contactIndividuals"][0]
    assert eleanor["firstName"] == "Eleanor"
    assert eleanor["lastName"] is None
    assert eleanor["birthYear"] is None and eleanor["birthDate"] == ""
    assert eleanor["contactMethods"] == []


def test_replace_drops_methods_the_body_leaves_out(replace_client: httpx.Client) -> None:
    body = contact(replace_client)
    eleanor = by_id(body["contactIndividuals"], ELEANOR)
    eleanor["contactMethods"] = [by_id(eleanor["contactMethods"], ELEANOR_PHONE)]
    after = ok(put(replace_client, CONTACT, body))
    methods = by_id(after["contactIndividuals"], ELEANOR)["contactMethods"]
    assert [m["id"] for m in methods] == [ELEANOR_PHONE]


def test_patch_keeps_methods_the_body_leaves_out(patch_client: httpx.Client) -> None:
    body = {
        "contactIndividuals": [
            {"id": ELEANOR, "contactMethods": [{"id": ELEANOR_PHONE, "isOptedIn": True}]}
        ]
    }
    after = ok(put(patch_client, CONTACT, body))
    methods = by_id(after["contactIndividuals"], ELEANOR)["contactMethods"]
    assert [m["id"] for m in methods] == [ELEANOR_HOME_EMAIL, ELEANOR_PHONE, ELEANOR_WORK_EMAIL]
    assert by_id(methods, ELEANOR_PHONE)["isOptedIn"] is True


def test_an_item_without_id_is_created_with_a_new_id(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    new_method = {
        "type": "Other Email",
        "value": "nell@example.net",
        "isOptedIn": False,
        "isPrimary": False,
    }
    by_id(body["contactIndividuals"], ELEANOR)["contactMethods"].append(new_method)
    body["contactIndividuals"].append(
        {"firstName": "Ada", "lastName": "Whitfield", "isPrimary": False}
    )
    after = ok(put(sandbox_client, CONTACT, body))
    ada = after["contactIndividuals"][-1]
    assert ada["firstName"] == "Ada" and isinstance(ada["id"], int)
    assert ada["id"] not in (ELEANOR, THOMAS)
    assert ada["createdByUser"] == ada["modifiedByUser"] == "Sandbox API User"
    created = by_id(after["contactIndividuals"], ELEANOR)["contactMethods"][-1]
    assert created["value"] == "nell@example.net" and isinstance(created["id"], int)


def test_an_individual_id_of_another_contact_is_refused(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    body = {**before, "contactIndividuals": [{"id": 48171, "firstName": "Maria"}]}
    state = model_state(put(sandbox_client, CONTACT, body))
    assert list(state) == ["contact.contactIndividuals[0].id"]
    assert without_stamps(contact(sandbox_client)) == without_stamps(before)


def test_a_method_id_of_another_individual_is_refused(sandbox_client: httpx.Client) -> None:
    body = {
        "name": "x",
        "contactType": "Household",
        "contactIndividuals": [
            {"id": THOMAS, "contactMethods": [{"id": ELEANOR_PHONE, "value": "1"}]}
        ],
    }
    state = model_state(put(sandbox_client, CONTACT, body))
    assert list(state) == ["contact.contactIndividuals[0].contactMethods[0].id"]


def test_replace_nulls_custom_fields_the_body_leaves_out(replace_client: httpx.Client) -> None:
    body = {
        **contact(replace_client),
        "customFields": [{"name": "Preferred Channel", "value": "SMS"}],
    }
    after = ok(put(replace_client, CONTACT, body))
    assert custom_values(after) == {
        "Shirt Size": None,
        "Volunteer Interest": None,
        "Preferred Channel": "SMS",
    }


def test_patch_keeps_custom_fields_the_body_leaves_out(patch_client: httpx.Client) -> None:
    body = {"customFields": [{"name": "Preferred Channel", "value": "SMS"}, {"name": "Shirt Size"}]}
    after = ok(put(patch_client, CONTACT, body))
    assert custom_values(after) == {
        "Shirt Size": "M",
        "Volunteer Interest": "Gala Committee",
        "Preferred Channel": "SMS",
    }


def test_a_custom_field_set_to_null_is_cleared_in_both_semantics(
    sandbox_client: httpx.Client,
) -> None:
    body = contact(sandbox_client)
    body["customFields"] = [
        {**f, "value": None} if f["name"] == "Shirt Size" else f for f in body["customFields"]
    ]
    assert custom_values(ok(put(sandbox_client, CONTACT, body)))["Shirt Size"] is None


def test_tags_are_a_set_replaced_or_extended(sandbox_client: httpx.Client, sandbox: Any) -> None:
    body = {**contact(sandbox_client), "tags": ["Gala 2024", "Volunteer", "Volunteer"]}
    after = ok(put(sandbox_client, CONTACT, body))
    if sandbox.settings.put_semantics == "replace":
        assert after["tags"] == ["Gala 2024", "Volunteer"]
    else:
        assert after["tags"] == ["Major Donor", "Gala 2024", "Volunteer"]


def test_references_are_matched_by_source_and_id(
    sandbox_client: httpx.Client, sandbox: Any
) -> None:
    new = {"source": "Portal", "id": "42"}
    body = {**contact(sandbox_client), "contactReferences": [new, dict(new)]}
    after = ok(put(sandbox_client, CONTACT, body))
    kept = [{"source": "PartnerPlatform", "id": "PP-10021"}]
    expected = [new] if sandbox.settings.put_semantics == "replace" else [*kept, new]
    assert after["contactReferences"] == expected


def test_an_address_with_an_id_updates_that_address(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["address"]["address2"] = "Suite 5"
    after = ok(put(sandbox_client, CONTACT, body))
    assert after["address"]["id"] == HOME_ADDRESS
    assert after["address"]["address2"] == "Suite 5"
    assert after["address"]["modifiedDateTimeUtc"] == after["modifiedDateTimeUtc"]


def test_an_address_without_id_becomes_the_new_primary(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["address"] = {
        "label": "Home",
        "address1": "1 Pearl St",
        "city": "Boulder",
        "state": "CO",
        "postal": "80302",
        "country": "United States",
        "isPrimary": True,
    }
    after = ok(put(sandbox_client, CONTACT, body))
    new_id = after["address"]["id"]
    assert new_id not in (HOME_ADDRESS, WINTER_ADDRESS)
    listed = addresses(sandbox_client)
    assert {i: a["isPrimary"] for i, a in listed.items()} == {
        HOME_ADDRESS: False,
        WINTER_ADDRESS: False,
        new_id: True,
    }


def test_an_address_sent_as_null_removes_the_primary_in_both_semantics(
    sandbox_client: httpx.Client,
) -> None:
    after = ok(put(sandbox_client, CONTACT, {**contact(sandbox_client), "address": None}))
    assert after["address"] is None
    assert list(addresses(sandbox_client)) == [WINTER_ADDRESS]


def test_patch_keeps_the_primary_address_when_the_body_omits_it(patch_client: httpx.Client) -> None:
    assert (
        ok(put(patch_client, CONTACT, {"name": "The Whitfields"}))["address"]["id"] == HOME_ADDRESS
    )


def test_individual_put_replace_clears_its_omitted_fields_and_methods(
    replace_client: httpx.Client,
) -> None:
    after = ok(put(replace_client, f"/api/ContactIndividual/{ELEANOR}", {"firstName": "Nell"}))
    assert after["id"] == ELEANOR and after["contactId"] == SHOWCASE
    assert (after["firstName"], after["lastName"], after["contactMethods"]) == ("Nell", None, [])


def test_individual_put_patch_keeps_its_omitted_fields_and_methods(
    patch_client: httpx.Client,
) -> None:
    after = ok(put(patch_client, f"/api/ContactIndividual/{ELEANOR}", {"firstName": "Nell"}))
    assert (after["firstName"], after["lastName"]) == ("Nell", "Whitfield")
    assert len(after["contactMethods"]) == 3


def test_individual_put_answers_the_individual_and_restamps_the_contact(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    body = by_id(before["contactIndividuals"], THOMAS) | {"middleName": "James"}
    after = ok(put(sandbox_client, f"/api/ContactIndividual/{THOMAS}", body))
    assert after["middleName"] == "James"
    reread = contact(sandbox_client)
    assert by_id(reread["contactIndividuals"], THOMAS) == after
    assert (
        reread["modifiedDateTimeUtc"]
        == after["modifiedDateTimeUtc"]
        > before["modifiedDateTimeUtc"]
    )


def test_address_put_replace_clears_its_omitted_fields(replace_client: httpx.Client) -> None:
    after = ok(put(replace_client, f"/api/ContactAddress/{WINTER_ADDRESS}", {"city": "Sarasota"}))
    assert (after["city"], after["label"], after["startMonth"], after["isPrimary"]) == (
        "Sarasota",
        None,
        None,
        False,
    )


def test_address_put_patch_keeps_its_omitted_fields(patch_client: httpx.Client) -> None:
    after = ok(put(patch_client, f"/api/ContactAddress/{WINTER_ADDRESS}", {"city": "Sarasota"}))
    assert (after["city"], after["label"], after["startMonth"]) == ("Sarasota", "Winter", 1)


def test_making_an_address_primary_demotes_the_old_primary(sandbox_client: httpx.Client) -> None:
    body = sandbox_client.get(f"/api/ContactAddress/{WINTER_ADDRESS}").json() | {"isPrimary": True}
    ok(put(sandbox_client, f"/api/ContactAddress/{WINTER_ADDRESS}", body))
    assert contact(sandbox_client)["address"]["id"] == WINTER_ADDRESS
    assert addresses(sandbox_client)[HOME_ADDRESS]["isPrimary"] is False
