"""isCurrentUserFollowing and nameFieldsLocked: read-only booleans of the Contact (only)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ELEANOR,
    LIVE_ONLY_CONTACT_KEYS,
    SHOWCASE,
    contact,
    load_fixture,
    ok,
    put,
)

CONTACT = f"/api/Contact/{SHOWCASE}"
FULL_CONTACT_READS = [
    ("GET", CONTACT, None),
    ("GET", "/api/Contact/Find?email=eleanor.whitfield@example.org", None),
    ("GET", "/api/Contact/PartnerPlatform/PP-10021", None),
    ("GET", "/api/Contact/ByReference/PP-10021", None),
]


@pytest.mark.parametrize(("method", "path", "body"), FULL_CONTACT_READS)
def test_every_full_contact_answer_carries_both_as_false(
    sandbox_client: httpx.Client, method: str, path: str, body: object
) -> None:
    served = ok(sandbox_client.request(method, path, json=body))
    assert {key: served[key] for key in LIVE_ONLY_CONTACT_KEYS} == LIVE_ONLY_CONTACT_KEYS


def test_query_full_contact_lists_carry_them_too(sandbox_client: httpx.Client) -> None:
    listed = ok(sandbox_client.post("/api/Contact/Query/FullContact", json={}))["list"]
    assert listed and all(c["isCurrentUserFollowing"] is False for c in listed)
    assert all(c["nameFieldsLocked"] is False for c in listed)


def test_they_belong_to_the_contact_not_to_its_individuals(sandbox_client: httpx.Client) -> None:
    individual = ok(sandbox_client.get(f"/api/ContactIndividual/{ELEANOR}"))
    embedded = contact(sandbox_client)["contactIndividuals"][0]
    for record in (individual, embedded):
        assert not set(LIVE_ONLY_CONTACT_KEYS) & set(record)


def test_writes_ignore_them_and_echoing_a_get_back_is_accepted(
    sandbox_client: httpx.Client,
) -> None:
    body = contact(sandbox_client)
    # A true, and even a value of the wrong type: read-only fields are not checked.
    body.update(isCurrentUserFollowing=True, nameFieldsLocked="yes")
    after = ok(put(sandbox_client, CONTACT, body))
    assert after["isCurrentUserFollowing"] is False
    assert after["nameFieldsLocked"] is False
    assert contact(sandbox_client)["nameFieldsLocked"] is False


def test_a_create_ignores_them(sandbox_client: httpx.Client) -> None:
    created = ok(
        sandbox_client.post(
            "/api/Contact",
            json={"name": "New", "contactType": "Household", "isCurrentUserFollowing": True},
        )
    )
    assert created["isCurrentUserFollowing"] is False


def test_a_value_a_seed_brings_is_served_and_survives_a_write(
    sandbox_factory: SandboxFactory,
) -> None:
    captured = {**load_fixture("contact.json"), "isCurrentUserFollowing": True}
    server = sandbox_factory(seed=captured)
    with client_for(server) as client:
        assert contact(client, 1)["isCurrentUserFollowing"] is True
        after = ok(put(client, "/api/Contact/1", contact(client, 1)))
        assert after["isCurrentUserFollowing"] is True
        assert after["nameFieldsLocked"] is False
