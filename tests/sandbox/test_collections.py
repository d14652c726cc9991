"""Custom collections: definitions, and instances added, updated and removed on contacts and
individuals, shown in ``customCollections`` on GET; every write checked, stamped, or refused
whole."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from syncengine.sandbox import ManualClock, SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ELEANOR,
    SHOWCASE,
    THOMAS,
    contact,
    model_state,
    ok,
    problems,
)

SHIFTS, CERTIFICATIONS = 101, 201  # seeded definitions (syncengine/sandbox/seed.py)
CONTACT_SHIFTS = f"/api/Contact/{SHOWCASE}/Collection/{SHIFTS}"


def individual(client: httpx.Client, individual_id: int = ELEANOR) -> dict[str, Any]:
    data: dict[str, Any] = ok(client.get(f"/api/ContactIndividual/{individual_id}"))
    return data


def add_shift(client: httpx.Client, **values: Any) -> dict[str, Any]:
    fields = [{"name": name, "value": value} for name, value in values.items()]
    data: dict[str, Any] = ok(client.post(CONTACT_SHIFTS, json={"fields": fields}))
    return data


def values_of(instance: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f["value"] for f in instance["fields"]}


def test_definitions_are_listed_per_owner(sandbox_client: httpx.Client) -> None:
    contact_defs = ok(sandbox_client.get("/api/Contact/CustomCollections"))
    assert [d["customCollectionName"] for d in contact_defs] == ["Volunteer Shifts"]
    assert [f["name"] for f in contact_defs[0]["fields"]] == ["Role", "Hours", "Date"]
    individual_defs = ok(sandbox_client.get("/api/ContactIndividual/CustomCollections"))
    assert [d["customCollectionId"] for d in individual_defs] == [CERTIFICATIONS]


def test_an_added_instance_shows_on_the_contact_with_every_field_listed(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    added = add_shift(sandbox_client, Role="Usher", Hours="4")
    assert added == {
        "customCollectionId": SHIFTS,
        "customCollectionName": "Volunteer Shifts",
        "collectionInstanceId": added["collectionInstanceId"],
        "fields": [
            {"name": "Role", "value": "Usher"},
            {"name": "Hours", "value": "4"},
            {"name": "Date", "value": None},
        ],
    }
    after = contact(sandbox_client)
    assert after["customCollections"] == [added]
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]
    second = add_shift(sandbox_client, Role="Greeter")
    assert second["collectionInstanceId"] != added["collectionInstanceId"]
    assert len(contact(sandbox_client)["customCollections"]) == 2


def test_an_individual_instance_shows_on_the_individual_and_stamps_it(
    sandbox_client: httpx.Client,
) -> None:
    before = individual(sandbox_client)
    path = f"/api/ContactIndividual/{ELEANOR}/Collection/{CERTIFICATIONS}"
    body = {"name": "Certifications", "fields": [{"name": "Name", "value": "CPR"}]}
    added = ok(sandbox_client.post(path, json=body))
    after = individual(sandbox_client)
    assert after["customCollections"] == [added]
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]
    # The contact GET carries the individual with its instance; the other individual has none.
    people = {i["id"]: i for i in contact(sandbox_client)["contactIndividuals"]}
    assert people[ELEANOR]["customCollections"] == [added]
    assert people[THOMAS]["customCollections"] == []


def test_replace_clears_the_fields_an_update_leaves_out(replace_client: httpx.Client) -> None:
    added = add_shift(replace_client, Role="Usher", Hours="4")
    path = f"/api/Contact/{SHOWCASE}/Collection/{added['collectionInstanceId']}"
    updated = ok(replace_client.put(path, json={"fields": [{"name": "Hours", "value": "6"}]}))
    assert values_of(updated) == {"Role": None, "Hours": "6", "Date": None}
    assert contact(replace_client)["customCollections"] == [updated]


def test_patch_keeps_the_fields_an_update_leaves_out(patch_client: httpx.Client) -> None:
    added = add_shift(patch_client, Role="Usher", Hours="4")
    path = f"/api/Contact/{SHOWCASE}/Collection/{added['collectionInstanceId']}"
    updated = ok(patch_client.put(path, json={"fields": [{"name": "Hours", "value": "6"}]}))
    assert values_of(updated) == {"Role": "Usher", "Hours": "6", "Date": None}


def test_an_update_advances_the_stamps(sandbox_client: httpx.Client) -> None:
    added = add_shift(sandbox_client, Role="Usher")
    before = contact(sandbox_client)
    path = f"/api/Contact/{SHOWCASE}/Collection/{added['collectionInstanceId']}"
    ok(sandbox_client.put(path, json={"fields": [{"name": "Role", "value": "Lead"}]}))
    assert contact(sandbox_client)["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]


def test_an_unknown_collection_is_a_422_that_writes_nothing(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    response = sandbox_client.post(f"/api/Contact/{SHOWCASE}/Collection/999", json={"fields": []})
    assert problems(response) == {
        ("customCollection.customCollectionId", "UnknownCustomCollection")
    }
    # A contact's collection id is not an individual's either.
    response = sandbox_client.post(
        f"/api/Contact/{SHOWCASE}/Collection/{CERTIFICATIONS}", json={"fields": []}
    )
    assert response.status_code == 422
    assert contact(sandbox_client) == before


def test_an_unknown_or_repeated_field_is_a_422_that_writes_nothing(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    fields = [
        {"name": "Role", "value": "Usher"},
        {"name": "Shoe Size", "value": "9"},
        {"name": "Role", "value": "Greeter"},
    ]
    response = sandbox_client.post(CONTACT_SHIFTS, json={"fields": fields})
    assert problems(response) == {
        ("customCollection.fields[1].name", "UnknownCustomCollectionField"),
        ("customCollection.fields[2].name", "DuplicateField"),
    }
    assert contact(sandbox_client) == before


def test_an_individual_write_naming_another_collection_is_a_422(
    sandbox_client: httpx.Client,
) -> None:
    path = f"/api/ContactIndividual/{ELEANOR}/Collection/{CERTIFICATIONS}"
    response = sandbox_client.post(path, json={"name": "Volunteer Shifts", "fields": []})
    assert problems(response) == {("customCollection.name", "UnknownCustomCollection")}
    assert individual(sandbox_client)["customCollections"] == []


def test_a_refused_update_leaves_the_instance_as_it_was(sandbox_client: httpx.Client) -> None:
    added = add_shift(sandbox_client, Role="Usher")
    before = contact(sandbox_client)
    path = f"/api/Contact/{SHOWCASE}/Collection/{added['collectionInstanceId']}"
    response = sandbox_client.put(path, json={"fields": [{"name": "Nope", "value": "x"}]})
    assert response.status_code == 422
    assert contact(sandbox_client) == before


def test_unknown_owners_and_instances_are_404_with_an_empty_body(
    sandbox_client: httpx.Client,
) -> None:
    added = add_shift(sandbox_client, Role="Usher")
    instance = added["collectionInstanceId"]
    body = {"fields": [{"name": "Role", "value": "x"}]}
    for response in (
        sandbox_client.post(f"/api/Contact/999999/Collection/{SHIFTS}", json=body),
        sandbox_client.post(
            f"/api/ContactIndividual/999999/Collection/{CERTIFICATIONS}", json=body
        ),
        sandbox_client.put(f"/api/Contact/{SHOWCASE}/Collection/999999", json=body),
        # Another contact's instance is not found through this one.
        sandbox_client.put(f"/api/Contact/4817/Collection/{instance}", json=body),
        sandbox_client.put(f"/api/ContactIndividual/{ELEANOR}/Collection/{instance}", json=body),
    ):
        assert response.status_code == 404
        assert response.content == b""


def test_bodies_of_the_wrong_shape_are_400s(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    assert "customCollection.fields" in model_state(sandbox_client.post(CONTACT_SHIFTS, json={}))
    state = model_state(sandbox_client.post(CONTACT_SHIFTS, json={"fields": "Role=Usher"}))
    assert "customCollection.fields" in state
    nested = {"fields": [{"name": "Role", "value": {"text": "Usher"}}]}
    assert "customCollection.fields[0].value" in model_state(
        sandbox_client.post(CONTACT_SHIFTS, json=nested)
    )
    wrong_name = {"fields": [{"name": 7, "value": "x"}]}
    assert "customCollection.fields[0].name" in model_state(
        sandbox_client.post(CONTACT_SHIFTS, json=wrong_name)
    )
    assert model_state(sandbox_client.post(CONTACT_SHIFTS, json=[])) == {
        "customCollection": [
            "Cannot deserialize the current JSON array into type 'CollectionInstance'."
        ]
    }
    malformed = sandbox_client.post(
        CONTACT_SHIFTS, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and "message" in malformed.json()
    assert contact(sandbox_client) == before


def test_delete_removes_the_instance(sandbox_client: httpx.Client) -> None:
    added = add_shift(sandbox_client, Role="Usher")
    kept = add_shift(sandbox_client, Role="Greeter")
    instance = added["collectionInstanceId"]
    missing = sandbox_client.delete(CONTACT_SHIFTS)
    assert missing.status_code == 400
    wrong = sandbox_client.delete(
        f"/api/Contact/{SHOWCASE}/Collection/999", params={"collectionInstanceId": instance}
    )
    assert wrong.status_code == 404 and wrong.content == b""
    before = contact(sandbox_client)
    gone = sandbox_client.delete(CONTACT_SHIFTS, params={"collectionInstanceId": instance})
    assert gone.status_code == 200 and gone.content == b""
    after = contact(sandbox_client)
    assert after["customCollections"] == [kept]
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]


def test_stamps_come_from_the_injectable_clock(sandbox_factory: SandboxFactory) -> None:
    clock = ManualClock(datetime(2024, 5, 1, 12, 0, 0))
    server = sandbox_factory(clock=clock)
    with client_for(server) as client:
        clock.set(datetime(2024, 6, 2, 9, 30, 0))
        add_shift(client, Role="Usher")
        path = f"/api/ContactIndividual/{ELEANOR}/Collection/{CERTIFICATIONS}"
        ok(client.post(path, json={"fields": [{"name": "Name", "value": "CPR"}]}))
        assert contact(client)["modifiedDateTimeUtc"].startswith("2024-06-02T09:30:00")
        assert individual(client)["modifiedDateTimeUtc"].startswith("2024-06-02T09:30:00")


def test_seeded_instances_are_served_and_new_ids_follow_them(
    sandbox_factory: SandboxFactory,
) -> None:
    shift = {
        "customCollectionId": 7,
        "customCollectionName": "Mentoring",
        "collectionInstanceId": 500,
        "fields": [{"name": "Mentee", "value": "Sam"}],
    }
    seed = {
        "contacts": [
            {"id": 1, "contactType": "Household", "name": "A", "customCollections": [shift]}
        ]
    }
    server: SandboxServer = sandbox_factory(seed=seed)
    with client_for(server) as client:
        assert contact(client, 1)["customCollections"] == [shift]
        # A collection found on a record is defined from it, as custom fields are.
        assert ok(client.get("/api/Contact/CustomCollections")) == [
            {
                "customCollectionId": 7,
                "customCollectionName": "Mentoring",
                "fields": [{"name": "Mentee", "dataType": "Text"}],
            }
        ]
        body = {"fields": [{"name": "Mentee", "value": "Kim"}]}
        added = ok(client.post("/api/Contact/1/Collection/7", json=body))
        assert added["collectionInstanceId"] == 501


def test_the_raw_state_carries_definitions_and_instances_back(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        add_shift(client, Role="Usher")
        raw = sandbox.hooks.raw_state()
        assert raw["customCollectionDefinitions"]["Contact"][0]["customCollectionId"] == SHIFTS
        sandbox.hooks.seed(raw)
        assert sandbox.hooks.raw_state() == raw
        assert len(contact(client)["customCollections"]) == 1


def test_a_contact_put_never_touches_instances(sandbox_client: httpx.Client) -> None:
    # customCollections is read-only in the Contact shape: a replace PUT that leaves it
    # out keeps it, and one that sends other instances cannot write them.
    added = add_shift(sandbox_client, Role="Usher")
    body = {"name": "The Whitfield Household", "contactType": "Household", "customCollections": []}
    after = ok(sandbox_client.put(f"/api/Contact/{SHOWCASE}", json=body))
    assert after["customCollections"] == [added]


def test_query_results_carry_the_instances(sandbox_client: httpx.Client) -> None:
    added = add_shift(sandbox_client, Role="Usher")
    condition = {"parameter": "Contact Id", "operator": "Is", "value": SHOWCASE}
    body = {"groups": [{"conditions": [condition]}]}
    page = ok(sandbox_client.post("/api/Contact/Query/FullContact", json=body))
    assert page["list"][0]["customCollections"] == [added]


def test_an_individual_instance_is_updated_and_removed_by_its_own_routes(
    sandbox_client: httpx.Client,
) -> None:
    path = f"/api/ContactIndividual/{ELEANOR}/Collection"
    body = {"fields": [{"name": "Name", "value": "CPR"}, {"name": "Expires", "value": "2026"}]}
    added = ok(sandbox_client.post(f"{path}/{CERTIFICATIONS}", json=body))
    instance = added["collectionInstanceId"]
    renewed = {"fields": [{"name": "Name", "value": "CPR"}, {"name": "Expires", "value": "2028"}]}
    updated = ok(sandbox_client.put(f"{path}/{instance}", json=renewed))
    assert values_of(updated) == {"Name": "CPR", "Expires": "2028"}
    assert individual(sandbox_client)["customCollections"] == [updated]
    params = {"collectionInstanceId": instance}
    assert sandbox_client.delete(f"{path}/{CERTIFICATIONS}", params=params).status_code == 200
    assert individual(sandbox_client)["customCollections"] == []
