"""PUT /api/Contact/Archive/{id} and /Unarchive/{id}."""

from __future__ import annotations

import httpx

from syncengine.sandbox import SandboxServer
from tests.sandbox.helpers import ARCHIVED_CONTACT, SHOWCASE, contact

QUERY = "/api/Contact/Query/FullContact"


def listed(client: httpx.Client) -> list[int]:
    return [c["id"] for c in client.post(QUERY, json={}, params={"take": 1000}).json()["list"]]


def test_archive_answers_200_with_an_empty_body(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.put(f"/api/Contact/Archive/{SHOWCASE}")
    assert (response.status_code, response.content) == (200, b"")


def test_an_archived_contact_leaves_queries_but_still_answers_get(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    sandbox_client.put(f"/api/Contact/Archive/{SHOWCASE}")
    assert SHOWCASE not in listed(sandbox_client)
    assert "isArchived" not in contact(sandbox_client)
    assert sandbox.hooks.raw_contact(SHOWCASE)["isArchived"] is True


def test_unarchive_brings_it_back(sandbox: SandboxServer, sandbox_client: httpx.Client) -> None:
    response = sandbox_client.put(f"/api/Contact/Unarchive/{ARCHIVED_CONTACT}")
    assert (response.status_code, response.content) == (200, b"")
    assert ARCHIVED_CONTACT in listed(sandbox_client)
    assert sandbox.hooks.raw_contact(ARCHIVED_CONTACT)["isArchived"] is False


def test_archiving_twice_is_harmless(sandbox_client: httpx.Client) -> None:
    for _ in range(2):
        assert sandbox_client.put(f"/api/Contact/Archive/{SHOWCASE}").status_code == 200
