"""Contact imports: POST /api/Contact/Transaction and /Batch are accepted with no id, held,
then matched (reference, then email) and applied once the sandbox clock passes their delay
or the test hook runs them; refusals leave nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from syncengine.sandbox import ManualClock, SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ARCHIVED_CONTACT,
    ELEANOR,
    ELEANOR_HOME_EMAIL,
    SHOWCASE,
    THOMAS,
    by_id,
    contact,
    custom_values,
    model_state,
    problems,
)

START = datetime(2024, 5, 1, 12, 0, 0)
DELAY = 3600.0
WHITFIELD_REFERENCE = {"referenceSource": "PartnerPlatform", "referenceId": "PP-10021"}
NEW_DONOR: dict[str, Any] = {
    "referenceSource": "PartnerPlatform",
    "referenceId": "PP-30001",
    "firstName": "Rosa",
    "lastName": "Medina",
    "title": "Ms",
    "emailType": "Home Email",
    "email": "rosa.medina@example.net",
    "phoneType": "Mobile Phone",
    "phone": "555-0199",
    "address1": "77 Pine St",
    "city": "Tucson",
    "state": "az",
    "postal": "85701",
    "country": "US",
    "tags": "New Donor; Spring Appeal",
    "customFields": {"Shirt Size": "S"},
    "invited": False,
    "emailLists": ["Newsletter"],
}


def imports(client: httpx.Client) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = client.get("/_sandbox/imports").json()
    return data


def run_imports(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.post("/_sandbox/imports/apply")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()
    return data


def submit(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.post("/api/Contact/Transaction", json=body)
    assert response.status_code == 200, response.text
    assert response.content == b""  # accepted, with no id: the contact does not exist yet


def find(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get("/api/Contact/Find", params=params)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def timed(sandbox_factory: SandboxFactory, clock: ManualClock) -> Iterator[httpx.Client]:
    """A sandbox on a manual clock whose imports come due an hour after acceptance."""
    server = sandbox_factory(clock=clock, import_delay_seconds=DELAY)
    with client_for(server) as client:
        yield client


def test_a_transaction_is_held_until_its_delay_has_passed(
    timed: httpx.Client, clock: ManualClock
) -> None:
    submit(timed, NEW_DONOR)
    [entry] = imports(timed)
    assert entry["status"] == "pending" and entry["contactId"] is None
    assert entry["acceptedDateTimeUtc"] == "2024-05-01T12:00:00"
    assert entry["dueDateTimeUtc"] == "2024-05-01T13:00:00"
    clock.advance(DELAY - 1)
    assert find(timed, email=NEW_DONOR["email"]).status_code == 404
    clock.advance(1)
    # The next API request, whatever it is, runs the due import first.
    found = find(timed, email=NEW_DONOR["email"])
    assert found.status_code == 200
    # Applied later: the contact is created at application time, not acceptance time.
    assert found.json()["createDateTimeUtc"] == "2024-05-01T13:00:00"
    [entry] = imports(timed)
    assert entry["status"] == "created" and entry["contactId"] == found.json()["id"]


def test_the_hook_runs_pending_imports_now(timed: httpx.Client) -> None:
    submit(timed, NEW_DONOR)
    [applied] = run_imports(timed)
    assert applied["status"] == "created" and applied["matchedBy"] is None
    assert find(timed, email=NEW_DONOR["email"]).json()["id"] == applied["contactId"]
    assert run_imports(timed) == []  # nothing is applied twice


def test_the_python_hook_runs_pending_imports_now(
    sandbox_factory: SandboxFactory, clock: ManualClock
) -> None:
    # A day's delay on a clock that never moves: only the hook can apply it.
    server = sandbox_factory(clock=clock)
    with client_for(server) as client:
        submit(client, NEW_DONOR)
        [pending] = server.hooks.imports()
        assert pending.status.value == "pending" and pending.contact_id is None
        [applied] = server.hooks.apply_imports()
        assert applied.status.value == "created"
        assert find(client, email=NEW_DONOR["email"]).json()["id"] == applied.contact_id
        assert server.hooks.apply_imports() == []  # nothing is applied twice
        # The HTTP hook lists the same entries the Python one does.
        assert imports(client) == [e.to_json() for e in server.hooks.imports()]


def test_an_unmatched_transaction_creates_the_contact_the_create_path_would(
    sandbox_client: httpx.Client,
) -> None:
    submit(sandbox_client, NEW_DONOR)
    [applied] = run_imports(sandbox_client)
    created = contact(sandbox_client, applied["contactId"])
    assert created["contactType"] == "Household" and created["name"] == "Rosa Medina"
    assert created["contactReferences"] == [{"source": "PartnerPlatform", "id": "PP-30001"}]
    assert created["tags"] == ["New Donor", "Spring Appeal"]
    assert custom_values(created)["Shirt Size"] == "S"
    [person] = created["contactIndividuals"]
    assert (person["prefix"], person["firstName"], person["lastName"]) == ("Ms", "Rosa", "Medina")
    assert person["isPrimary"] is True
    methods = {m["type"]: m["value"] for m in person["contactMethods"]}
    assert methods == {"Home Email": "rosa.medina@example.net", "Mobile Phone": "555-0199"}
    address = created["address"]
    assert (address["address1"], address["state"], address["country"]) == (
        "77 Pine St",
        "AZ",
        "United States",
    )
    by_reference = find(sandbox_client, referenceSource="PartnerPlatform", referenceId="PP-30001")
    assert by_reference.json()["id"] == created["id"]


def test_a_reference_match_merges_into_the_contact(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)
    submit(
        sandbox_client,
        {
            **WHITFIELD_REFERENCE,
            "email": "eleanor.w@newmail.example",
            "middleName": "Jane",
            "lastName": "",  # an empty value never clears
            "address1": "5 Mesa Rd",
            "city": "Boulder",
            "tags": "Gala 2025",
            "customFields": {"Preferred Channel": "Phone"},
        },
    )
    [applied] = run_imports(sandbox_client)
    assert (applied["status"], applied["matchedBy"], applied["contactId"]) == (
        "updated",
        "reference",
        SHOWCASE,
    )
    after = contact(sandbox_client)
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]
    assert after["name"] == before["name"]
    assert after["tags"] == ["Major Donor", "Gala 2024", "Gala 2025"]
    assert custom_values(after) == {**custom_values(before), "Preferred Channel": "Phone"}
    # The primary individual gains the new email (not primary) and the middle name.
    eleanor = by_id(after["contactIndividuals"], ELEANOR)
    assert (eleanor["middleName"], eleanor["lastName"]) == ("Jane", "Whitfield")
    new_email = next(
        m for m in eleanor["contactMethods"] if m["value"] == "eleanor.w@newmail.example"
    )
    assert (new_email["type"], new_email["isPrimary"]) == ("Home Email", False)
    assert by_id(eleanor["contactMethods"], ELEANOR_HOME_EMAIL)["isPrimary"] is True
    assert by_id(after["contactIndividuals"], THOMAS) == by_id(before["contactIndividuals"], THOMAS)
    # The new address is added beside the primary one, which stays primary.
    assert after["address"] == before["address"]
    listed = sandbox_client.get(f"/api/ContactAddress/ByContact/{SHOWCASE}").json()
    assert "5 Mesa Rd" in [a["address1"] for a in listed]


def test_an_email_match_updates_the_individual_who_holds_it(sandbox_client: httpx.Client) -> None:
    submit(
        sandbox_client,
        {"email": "THOMAS.WHITFIELD@example.org", "firstName": "Tom", "phone": "555-0000"},
    )
    [applied] = run_imports(sandbox_client)
    assert (applied["matchedBy"], applied["contactId"]) == ("email", SHOWCASE)
    thomas = by_id(contact(sandbox_client)["contactIndividuals"], THOMAS)
    assert thomas["firstName"] == "Tom"
    assert "555-0000" in [m["value"] for m in thomas["contactMethods"]]
    # The email was already there: it is not added a second time.
    emails = [m["value"].lower() for m in thomas["contactMethods"] if "Email" in m["type"]]
    assert emails.count("thomas.whitfield@example.org") == 1


def test_a_known_address_is_not_added_again(sandbox_client: httpx.Client) -> None:
    before = sandbox_client.get(f"/api/ContactAddress/ByContact/{SHOWCASE}").json()
    home = contact(sandbox_client)["address"]["address1"]
    submit(sandbox_client, {**WHITFIELD_REFERENCE, "address1": f"  {home.upper()} "})
    run_imports(sandbox_client)
    assert len(sandbox_client.get(f"/api/ContactAddress/ByContact/{SHOWCASE}").json()) == len(
        before
    )


def test_reference_wins_over_email_and_another_contacts_email_fails_the_import(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    # 4821's reference, with an email that belongs to 4817: adding it would give one email
    # two owners, which a PUT may not do either (409).
    submit(
        sandbox_client,
        {**WHITFIELD_REFERENCE, "email": "maria.alvarez@example.org", "firstName": "X"},
    )
    [applied] = run_imports(sandbox_client)
    assert (applied["status"], applied["contactId"]) == ("failed", None)
    owned = "The email address 'maria.alvarez@example.org' already belongs to another contact."
    assert applied["error"] == {"message": owned}
    assert contact(sandbox_client) == before  # nothing of it was applied


def test_later_imports_still_run_after_one_fails(sandbox_client: httpx.Client) -> None:
    submit(sandbox_client, {**WHITFIELD_REFERENCE, "email": "maria.alvarez@example.org"})
    submit(sandbox_client, NEW_DONOR)
    assert [e["status"] for e in run_imports(sandbox_client)] == ["failed", "created"]


def test_a_transaction_is_not_visible_anywhere_before_it_is_applied(
    sandbox_client: httpx.Client,
) -> None:
    submit(sandbox_client, NEW_DONOR)
    assert find(sandbox_client, email=NEW_DONOR["email"]).status_code == 404
    query = sandbox_client.post("/api/Contact/Query/FullContact", json={}, params={"take": 1000})
    assert NEW_DONOR["email"] not in query.text


def test_wrongly_typed_transactions_are_400s_and_queue_nothing(
    sandbox_client: httpx.Client,
) -> None:
    state = model_state(
        sandbox_client.post("/api/Contact/Transaction", json={**NEW_DONOR, "birthYear": "1980"})
    )
    assert "contactTransaction.birthYear" in state
    state = model_state(
        sandbox_client.post("/api/Contact/Transaction", json={**NEW_DONOR, "tags": ["a", "b"]})
    )
    assert "contactTransaction.tags" in state
    state = model_state(
        sandbox_client.post("/api/Contact/Transaction", json={**NEW_DONOR, "invited": "false"})
    )
    assert "contactTransaction.invited" in state
    malformed = sandbox_client.post(
        "/api/Contact/Transaction", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and "message" in malformed.json()
    assert imports(sandbox_client) == []


def test_invalid_transactions_are_422s_and_queue_nothing(sandbox_client: httpx.Client) -> None:
    body = {
        **NEW_DONOR,
        "email": "not-an-email",
        "emailType": "Mobile Phone",
        "contactType": "Clan",
        "birthMonth": 13,
        "customFields": {"Hat Size": "L"},
        "customObjects": [{"name": "Hobbies", "fields": []}],
    }
    assert problems(sandbox_client.post("/api/Contact/Transaction", json=body)) == {
        ("contactTransaction.emailType", "InvalidMethodType"),
        ("contactTransaction.contactType", "UnknownContactType"),
        ("contactTransaction.birthMonth", "OutOfRange"),
        ("contactTransaction.customFields.Hat Size", "UnknownCustomField"),
        ("contactTransaction.customObjects[0].name", "UnknownCustomCollection"),
    }
    bad_email = {**NEW_DONOR, "email": "not-an-email"}
    assert problems(sandbox_client.post("/api/Contact/Transaction", json=bad_email)) == {
        ("contactTransaction.email", "InvalidEmail")
    }
    assert imports(sandbox_client) == []


def test_a_nameless_transaction_that_matches_nothing_fails_when_applied(
    sandbox_client: httpx.Client,
) -> None:
    # Accepted (it might have matched), refused by the create path when it did not.
    submit(sandbox_client, {"email": "someone@example.net", "phone": "555-0101"})
    [applied] = run_imports(sandbox_client)
    assert (applied["status"], applied["contactId"]) == ("failed", None)
    details = {(d["field"], d["code"]) for d in applied["error"]["error"]["details"]}
    assert details == {("contact.name", "Required")}
    assert find(sandbox_client, email="someone@example.net").status_code == 404


def test_custom_objects_become_collection_instances(sandbox_client: httpx.Client) -> None:
    shifts = {"name": "Volunteer Shifts", "fields": [{"name": "Role", "value": "Usher"}]}
    submit(sandbox_client, {**WHITFIELD_REFERENCE, "customObjects": [shifts]})
    submit(sandbox_client, {**NEW_DONOR, "customObjects": [shifts]})
    updated, created = run_imports(sandbox_client)
    for contact_id in (updated["contactId"], created["contactId"]):
        [instance] = contact(sandbox_client, contact_id)["customCollections"]
        assert instance["customCollectionName"] == "Volunteer Shifts"
        assert instance["fields"][0] == {"name": "Role", "value": "Usher"}
    bad_field = {"name": "Volunteer Shifts", "fields": [{"name": "Shoe", "value": "9"}]}
    response = sandbox_client.post(
        "/api/Contact/Transaction", json={**NEW_DONOR, "customObjects": [bad_field]}
    )
    assert problems(response) == {
        ("contactTransaction.customObjects[0].fields[0].name", "UnknownCustomCollectionField")
    }


def test_a_batch_queues_every_contact_under_the_batch_reference_source(
    sandbox_client: httpx.Client,
) -> None:
    body = {
        "referenceSource": "PartnerPlatform",
        "contacts": [
            {"referenceId": "PP-10021", "middleName": "Batch"},
            {"referenceId": "PP-40001", "name": "The Kim Household", "email": "kim@example.net"},
        ],
    }
    response = sandbox_client.post("/api/Contact/Batch", json=body)
    assert response.status_code == 200 and response.content == b""
    updated, created = run_imports(sandbox_client)
    assert (updated["status"], updated["contactId"]) == ("updated", SHOWCASE)
    assert by_id(contact(sandbox_client)["contactIndividuals"], ELEANOR)["middleName"] == "Batch"
    assert created["status"] == "created"
    assert contact(sandbox_client, created["contactId"])["contactReferences"] == [
        {"source": "PartnerPlatform", "id": "PP-40001"}
    ]


def test_a_batch_is_refused_whole(sandbox_client: httpx.Client) -> None:
    good = {"referenceId": "PP-1", "name": "Good"}
    body = {"referenceSource": "P", "contacts": [good, {"referenceId": "PP-2", "email": "x@y"}]}
    assert problems(sandbox_client.post("/api/Contact/Batch", json=body)) == {
        ("contactBatch.contacts[1].email", "InvalidEmail"),
    }
    typed = {"referenceSource": "P", "contacts": [good, {"name": "Bad", "eventId": "7"}]}
    assert "contactBatch.contacts[1].eventId" in model_state(
        sandbox_client.post("/api/Contact/Batch", json=typed)
    )
    assert "contactBatch.contacts" in model_state(
        sandbox_client.post("/api/Contact/Batch", json={"referenceSource": "P", "contacts": []})
    )
    too_many = {"referenceSource": "P", "contacts": [good] * 101}
    state = model_state(sandbox_client.post("/api/Contact/Batch", json=too_many))
    assert state["contactBatch.contacts"] == ["At most 100 contacts per batch; got 101."]
    assert imports(sandbox_client) == []


def test_imports_run_the_same_under_both_put_semantics(sandbox: SandboxServer) -> None:
    # A merge keeps what the transaction does not mention even under replace semantics:
    # an import is not a PUT.
    with client_for(sandbox) as client:
        before = contact(client)
        submit(client, {**WHITFIELD_REFERENCE, "middleName": "Jane"})
        run_imports(client)
        after = contact(client)
        assert after["address"] == before["address"]
        assert after["informalName"] == before["informalName"]
        assert len(after["contactIndividuals"]) == 2


def test_a_reset_or_reseed_drops_pending_imports(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        submit(client, NEW_DONOR)
        sandbox.hooks.reset()
        assert imports(client) == []
        assert run_imports(client) == []


def test_archived_contacts_match_and_stay_archived(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        submit(client, {"email": "siobhan.brennan@example.org", "middleName": "Aine"})
        [applied] = run_imports(client)
        assert (applied["matchedBy"], applied["contactId"]) == ("email", ARCHIVED_CONTACT)
        assert sandbox.hooks.raw_contact(ARCHIVED_CONTACT)["isArchived"] is True


def test_merged_away_contacts_never_match(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        sandbox.hooks.merge(SHOWCASE, 4817)
        submit(client, {"email": "eleanor.whitfield@example.org", "name": "Eleanor W"})
        [applied] = run_imports(client)
        assert applied["status"] == "created"
        assert applied["contactId"] not in (SHOWCASE, 4817)
