"""The store's indexes (emails -> owners for the 409 check and every lookup by email,
reference ids -> holders for the lookups by reference, nested item ids -> their contact
for the sub-resource routes): exact after every kind of write, as a scan is."""

from __future__ import annotations

from typing import Any

import httpx

from syncengine.sandbox import SandboxServer
from syncengine.sandbox.email_index import scan_owners
from syncengine.sandbox.records import iter_items
from syncengine.sandbox.store import reference_ids
from tests.sandbox.helpers import (
    ARCHIVED_CONTACT,
    ELEANOR,
    ELEANOR_HOME_EMAIL,
    SHOWCASE,
    by_id,
    contact,
    ok,
    put,
)

OTHER = 4817  # The Alvarez Household: Maria's email is maria.alvarez@example.org
OTHER_EMAIL = "maria.alvarez@example.org"


def assert_indexes_exact(server: SandboxServer) -> None:
    store = server.state.store
    with server.state.lock:
        assert store.email_owners() == scan_owners(store.all())
        references: dict[str, set[int]] = {}
        for stored in store.all():
            for reference_id in reference_ids(stored):
                references.setdefault(reference_id, set()).add(stored["id"])
        assert store.reference_owners() == {k: frozenset(ids) for k, ids in references.items()}
        items: dict[tuple[str, int], set[int]] = {}
        for stored in store.all():
            for shape, item in iter_items(stored):
                if shape != "Contact":
                    items.setdefault((shape, item["id"]), set()).add(stored["id"])
        assert store.item_owners() == {key: frozenset(ids) for key, ids in items.items()}


def set_eleanor_email(client: httpx.Client, value: str) -> httpx.Response:
    body = contact(client)
    methods = by_id(body["contactIndividuals"], ELEANOR)["contactMethods"]
    by_id(methods, ELEANOR_HOME_EMAIL)["value"] = value
    return put(client, f"/api/Contact/{SHOWCASE}", body)


def new_contact(email: str) -> dict[str, Any]:
    return {
        "contactType": "Household",
        "name": "The New Household",
        "contactIndividuals": [
            {
                "firstName": "New",
                "lastName": "Person",
                "isPrimary": True,
                "contactMethods": [{"type": "Home Email", "value": email, "isPrimary": True}],
            }
        ],
    }


def test_the_indexes_agree_with_a_scan_after_a_mixed_sequence_of_writes(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    client = sandbox_client
    assert_indexes_exact(sandbox)
    # PUT contact: an email changed (and its case); the old one is free, the new one taken.
    ok(set_eleanor_email(client, "Nell.Whitfield@Example.org"))
    assert_indexes_exact(sandbox)
    # A refused write (409) leaves the index as it was.
    assert set_eleanor_email(client, OTHER_EMAIL.upper()).status_code == 409
    assert_indexes_exact(sandbox)
    # PUT individual: a second email on a person.
    individual = client.get(f"/api/ContactIndividual/{ELEANOR}").json()
    individual["contactMethods"].append(
        {"type": "Other Email", "value": "nell@example.net", "isPrimary": False}
    )
    ok(put(client, f"/api/ContactIndividual/{ELEANOR}", individual))
    assert_indexes_exact(sandbox)
    # POST contact, never de-duplicated but still checked for ownership.
    created = ok(client.post("/api/Contact", json=new_contact("fresh@example.org")))
    assert_indexes_exact(sandbox)
    # Addresses: created, archived (kept apart), and a contact PUT that drops individuals.
    address = {"contactId": created["id"], "address1": "1 Main St", "setAsPrimary": True}
    first = ok(client.post("/api/ContactAddress", json=address))
    ok(client.post("/api/ContactAddress", json=address))  # the new primary: the first may go
    assert client.put(f"/api/ContactAddress/Archive/{first['id']}").status_code == 200
    assert_indexes_exact(sandbox)
    ok(put(client, f"/api/Contact/{created['id']}", {**created, "contactIndividuals": []}))
    assert_indexes_exact(sandbox)
    # Archive and unarchive: an archived contact still owns its emails.
    for action in ("Archive", "Unarchive", "Archive"):
        assert client.put(f"/api/Contact/{action}/{created['id']}").status_code == 200
        assert_indexes_exact(sandbox)
    # A UI edit, then merges: a merged-away contact owns nothing, a gone one neither.
    sandbox.hooks.ui_edit(OTHER, {"informalName": "Maria and Jorge"})
    sandbox.hooks.merge(OTHER, SHOWCASE, "pointer")
    assert_indexes_exact(sandbox)
    sandbox.hooks.merge(ARCHIVED_CONTACT, SHOWCASE, "gone")
    assert_indexes_exact(sandbox)
    # Seed loading replaces everything.
    sandbox.hooks.seed(sandbox.state.initial_seed)
    assert_indexes_exact(sandbox)


def test_items_are_found_where_they_are_now(replace_client: httpx.Client) -> None:
    client = replace_client  # under replace, individuals left out of a PUT are deleted
    created = ok(client.post("/api/Contact", json=new_contact("fresh@example.org")))
    person = created["contactIndividuals"][0]
    assert ok(client.get(f"/api/ContactIndividual/{person['id']}"))["contactId"] == created["id"]
    ok(put(client, f"/api/Contact/{created['id']}", {**created, "contactIndividuals": []}))
    assert client.get(f"/api/ContactIndividual/{person['id']}").status_code == 404
    assert put(client, f"/api/ContactIndividual/{person['id']}", person).status_code == 404


def test_an_email_given_up_is_free_and_the_new_one_is_taken(sandbox_client: httpx.Client) -> None:
    client = sandbox_client
    ok(set_eleanor_email(client, "nell@example.net"))
    # The old address no longer belongs to anyone: another contact may take it...
    ok(client.post("/api/Contact", json=new_contact("eleanor.whitfield@example.org")))
    # ...and the new one, in any case, belongs to Eleanor.
    refused = client.post("/api/Contact", json=new_contact("NELL@example.NET"))
    assert refused.status_code == 409
    assert refused.json() == {
        "message": "The email address 'NELL@example.NET' already belongs to another contact."
    }


def test_a_merged_away_contacts_emails_are_free(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    assert sandbox_client.post("/api/Contact", json=new_contact(OTHER_EMAIL)).status_code == 409
    sandbox.hooks.merge(OTHER, SHOWCASE, "pointer")
    ok(sandbox_client.post("/api/Contact", json=new_contact(OTHER_EMAIL)))


def test_an_archived_contacts_emails_stay_taken(sandbox_client: httpx.Client) -> None:
    archived_email = "siobhan.brennan@example.org"  # contact 4822, archived in the seed
    response = sandbox_client.post("/api/Contact", json=new_contact(archived_email))
    assert response.status_code == 409


def test_a_seed_loaded_later_is_indexed(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    seed = {"contacts": [{**new_contact("seeded@example.org"), "id": 77}]}
    sandbox.hooks.seed(seed)
    taken = sandbox_client.post("/api/Contact", json=new_contact("seeded@example.org"))
    assert taken.status_code == 409
    # The default seed's emails went with it.
    ok(sandbox_client.post("/api/Contact", json=new_contact(OTHER_EMAIL)))
