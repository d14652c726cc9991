"""GET /api/Contact/Find: exact lookups by email or by reference."""

from __future__ import annotations

import httpx

from tests.sandbox.helpers import ARCHIVED_CONTACT, SHOWCASE

FIND = "/api/Contact/Find"


def test_find_by_email_is_exact_and_case_insensitive(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.get(FIND, params={"email": "ELEANOR.Whitfield@example.org"})
    assert response.status_code == 200
    assert response.json() == sandbox_client.get(f"/api/Contact/{SHOWCASE}").json()


def test_find_matches_any_email_type_method(sandbox_client: httpx.Client) -> None:
    found = sandbox_client.get(FIND, params={"email": "ewhitfield@work.example.com"}).json()
    assert found["id"] == SHOWCASE


def test_find_by_a_partial_email_or_a_phone_finds_nothing(sandbox_client: httpx.Client) -> None:
    for value in ("eleanor.whitfield", "example.org", "555-01211"):
        response = sandbox_client.get(FIND, params={"email": value})
        assert (response.status_code, response.content) == (404, b"")


def test_find_by_reference_source_and_id(sandbox_client: httpx.Client) -> None:
    params = {"referenceSource": "PartnerPlatform", "referenceId": "PP-10021"}
    assert sandbox_client.get(FIND, params=params).json()["id"] == SHOWCASE


def test_find_by_reference_needs_both_parts_to_match(sandbox_client: httpx.Client) -> None:
    for params in (
        {"referenceSource": "Portal", "referenceId": "PP-10021"},
        {"referenceSource": "PartnerPlatform", "referenceId": "pp-10021"},
    ):
        response = sandbox_client.get(FIND, params=params)
        assert (response.status_code, response.content) == (404, b"")


def test_find_without_a_key_is_a_400(sandbox_client: httpx.Client) -> None:
    for params in ({}, {"referenceSource": "PartnerPlatform"}):
        response = sandbox_client.get(FIND, params=params)
        assert response.status_code == 400 and response.json()["message"]


def test_find_sees_archived_contacts(sandbox_client: httpx.Client) -> None:
    # Archived records still exist; a lookup that missed them would invite duplicates.
    found = sandbox_client.get(FIND, params={"email": "siobhan.brennan@example.org"})
    assert found.json()["id"] == ARCHIVED_CONTACT
