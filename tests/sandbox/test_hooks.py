"""Test hooks: only with the flag; over HTTP under /_sandbox and as a Python API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from syncengine.sandbox import Fault, SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory, client_for
from tests.sandbox.helpers import HOME_ADDRESS, SHOWCASE, WINTER_ADDRESS, contact, ok

CONTACT = f"/api/Contact/{SHOWCASE}"
ONLY_SHOWCASE = rf"^/api/Contact/{SHOWCASE}$"
SMALL_SEED = {"contacts": [{"id": 7, "contactType": "Household", "name": "The Seeded Household"}]}


def test_hooks_are_absent_unless_enabled(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(test_hooks=False)
    with client_for(server) as client:
        for method, path in (
            ("GET", "/_sandbox/state"),
            ("POST", "/_sandbox/reset"),
            ("GET", "/_sandbox/requests"),
        ):
            response = client.request(method, path)
            assert (response.status_code, response.content) == (404, b"")
    with pytest.raises(RuntimeError):
        server.hooks.reset()


# -- seed, reset, raw state ------------------------------------------------------------------


def test_seeding_over_http_replaces_all_data(sandbox_client: httpx.Client) -> None:
    assert sandbox_client.post("/_sandbox/seed", json=SMALL_SEED).status_code == 204
    assert sandbox_client.get(CONTACT).status_code == 404
    seeded = contact(sandbox_client, 7)
    assert seeded["name"] == "The Seeded Household"
    assert seeded["contactIndividuals"] == [] and seeded["address"] is None


def test_seeding_from_python_and_from_a_file(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.hooks.seed(SMALL_SEED)
    assert [c["id"] for c in sandbox.hooks.raw_state()["contacts"]] == [7]
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps([{"id": 8, "contactType": "Foundation", "name": "F"}]))
    sandbox.hooks.seed_file(seed_file)
    assert [c["id"] for c in sandbox.hooks.raw_state()["contacts"]] == [8]


def test_a_bad_seed_is_a_400_and_changes_nothing(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.post("/_sandbox/seed", json={"contacts": [{"contactAddresses": 5}]})
    assert response.status_code == 400
    assert sandbox_client.get(CONTACT).status_code == 200


def test_reset_restores_the_initial_state_and_conditions(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        client.put(CONTACT, json={"name": "Changed", "contactType": "Household"})
        sandbox.hooks.add_fault(Fault("GET", ONLY_SHOWCASE, status=503))
        sandbox.hooks.set_latency(5)
        assert client.post("/_sandbox/reset").status_code == 204
        assert sandbox.hooks.pending_faults() == [] and sandbox.hooks.requests() == []
        assert contact(client)["name"] == "The Whitfield Household"  # fast: no latency


def test_the_raw_state_loads_back_as_the_same_state(sandbox: SandboxServer) -> None:
    raw = sandbox.hooks.raw_state()
    sandbox.hooks.seed(raw)
    assert sandbox.hooks.raw_state() == raw
    with client_for(sandbox) as client:
        assert client.get("/_sandbox/state").json() == raw


def test_the_raw_contact_shows_what_the_api_hides(sandbox_client: httpx.Client) -> None:
    raw = sandbox_client.get(f"/_sandbox/contacts/{SHOWCASE}").json()
    assert raw["isArchived"] is False
    assert [a["id"] for a in raw["contactAddresses"]] == [HOME_ADDRESS, WINTER_ADDRESS]


# -- latency and faults ------------------------------------------------------------------------


def test_latency_delays_every_api_request(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        assert client.put("/_sandbox/latency", json={"seconds": 0.2}).status_code == 204
        started = time.monotonic()
        client.get(CONTACT)
        assert time.monotonic() - started >= 0.2
        sandbox.hooks.set_latency(0)


def test_a_status_fault_answers_n_times_then_lets_requests_through(sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("GET", ONLY_SHOWCASE, count=2, status=503))
    with client_for(sandbox) as client:
        assert client.get("/api/Contact/4820").status_code == 200  # another path
        assert (
            client.put(CONTACT, json=contact(client, 4820) | {"id": SHOWCASE}).status_code != 503
        )  # another method
        statuses = [client.get(CONTACT).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


@pytest.mark.parametrize(("status", "retry_after"), [(429, 7), (503, 30), (401, None), (520, None)])
def test_a_status_fault_can_carry_retry_after(
    sandbox: SandboxServer, status: int, retry_after: int | None
) -> None:
    sandbox.hooks.add_fault(
        Fault("*", ONLY_SHOWCASE, status=status, retry_after=retry_after, body={"message": "x"})
    )
    with client_for(sandbox) as client:
        response = client.get(CONTACT)
    assert (response.status_code, response.json()) == (status, {"message": "x"})
    assert response.headers.get("retry-after") == (
        None if retry_after is None else str(retry_after)
    )


def test_a_delay_fault_makes_a_short_timeout_expire(sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("GET", ONLY_SHOWCASE, delay=0.5))
    with client_for(sandbox, timeout=0.1) as client, pytest.raises(httpx.TimeoutException):
        client.get(CONTACT)


def test_a_dropped_write_is_applied_though_the_client_sees_a_transport_error(
    sandbox: SandboxServer,
) -> None:
    sandbox.hooks.add_fault(Fault("PUT", ONLY_SHOWCASE, drop=True))
    with client_for(sandbox) as client:
        body = contact(client) | {"description": "written, answer lost"}
        with pytest.raises(httpx.TransportError):
            client.put(CONTACT, json=body)
        assert contact(client)["description"] == "written, answer lost"
    logged = sandbox.hooks.requests()[-2]
    assert (logged.method, logged.status, logged.dropped) == ("PUT", 200, True)


def test_a_dropped_archive_is_applied_too(sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("PUT", r"/Archive/", drop=True))
    with client_for(sandbox) as client, pytest.raises(httpx.TransportError):
        client.put(f"/api/Contact/Archive/{SHOWCASE}")
    assert sandbox.hooks.raw_contact(SHOWCASE)["isArchived"] is True


def test_a_dropped_create_still_creates(sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("POST", r"^/api/Contact$", drop=True))
    body = {
        "contactType": "Household",
        "name": "Lost Answer",
        "referenceSource": "P",
        "referenceId": "1",
    }
    with client_for(sandbox) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/api/Contact", json=body)
        found = client.get("/api/Contact/Find", params={"referenceSource": "P", "referenceId": "1"})
    assert found.json()["name"] == "Lost Answer"


def test_faults_can_be_managed_over_http(sandbox_client: httpx.Client) -> None:
    fault = {"method": "get", "path": ONLY_SHOWCASE, "count": 1, "status": 502}
    created = sandbox_client.post("/_sandbox/faults", json=fault)
    assert created.status_code == 201 and created.json()["method"] == "GET"
    assert len(sandbox_client.get("/_sandbox/faults").json()) == 1
    assert sandbox_client.get(CONTACT).status_code == 502
    sandbox_client.post("/_sandbox/faults", json=fault)
    assert sandbox_client.delete("/_sandbox/faults").status_code == 204
    assert sandbox_client.get(CONTACT).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"method": "GET"},
        {"path": "("},
        {"path": "x"},
        {"path": "x", "status": 500, "drop": True},
        {"path": "x", "status": "500"},
        {"path": "x", "count": 0, "status": 500},
    ],
)
def test_a_malformed_fault_is_a_400(sandbox_client: httpx.Client, fault: dict[str, object]) -> None:
    assert sandbox_client.post("/_sandbox/faults", json=fault).status_code == 400


# -- request log ---------------------------------------------------------------------------------


def test_the_request_log_records_api_requests_without_the_token(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client:
        client.post("/api/Contact/Query/FullContact?skip=0&take=5", json={"sortBy": "Contact Id"})
        client.put(CONTACT, json={"isPrivate": "yes"})
        client.get("/_sandbox/state")  # hooks are not logged
        logged = client.get("/_sandbox/requests").json()
    assert logged == [
        {
            "method": "POST",
            "path": "/api/Contact/Query/FullContact",
            "query": {"skip": "0", "take": "5"},
            "body": {"sortBy": "Contact Id"},
            "status": 200,
            "dropped": False,
        },
        {
            "method": "PUT",
            "path": CONTACT,
            "query": {},
            "body": {"isPrivate": "yes"},
            "status": 400,
            "dropped": False,
        },
    ]
    assert SANDBOX_TOKEN not in repr(sandbox.hooks.requests())


def test_the_request_log_can_be_cleared(sandbox_client: httpx.Client) -> None:
    sandbox_client.get(CONTACT)
    assert sandbox_client.delete("/_sandbox/requests").status_code == 204
    assert sandbox_client.get("/_sandbox/requests").json() == []


# -- out-of-band changes ------------------------------------------------------------------


def test_a_ui_edit_changes_only_what_it_names_and_signs_as_the_ui_user(
    sandbox: SandboxServer,
) -> None:
    with client_for(sandbox) as client:
        before = contact(client)
        edited = sandbox.hooks.ui_edit(SHOWCASE, {"description": "Prefers calls"})
        after = contact(client)
    assert edited == after
    assert after["description"] == "Prefers calls"
    assert (
        after["name"] == before["name"]
        and after["contactIndividuals"] == before["contactIndividuals"]
    )
    assert after["modifiedByUser"] == "Sandbox UI User"
    assert after["modifiedDateTimeUtc"] > before["modifiedDateTimeUtc"]


def test_a_ui_edit_over_http(sandbox_client: httpx.Client) -> None:
    edited = ok(
        sandbox_client.post(f"/_sandbox/contacts/{SHOWCASE}/ui-edit", json={"isPrivate": True})
    )
    assert edited["isPrivate"] is True and edited["modifiedByUser"] == "Sandbox UI User"


def test_a_merged_contact_points_at_the_survivor(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, SHOWCASE)
    with client_for(sandbox) as client:
        merged = contact(client, 4819)
        found = client.get(
            "/api/Contact/Find",
            params={"referenceSource": "PartnerPlatform", "referenceId": "PP-10019"},
        )
        by_email = client.get("/api/Contact/Find", params={"email": "sofia.lindqvist@example.org"})
    assert merged["mergedIntoContactId"] == SHOWCASE
    assert found.json()["id"] == SHOWCASE  # the reference moved to the survivor
    assert by_email.status_code == 404  # a merged-away record is gone from lookups


def test_a_merged_contact_can_be_gone_instead(sandbox_client: httpx.Client) -> None:
    response = sandbox_client.post(
        "/_sandbox/contacts/4819/merge", json={"into": SHOWCASE, "mode": "gone"}
    )
    assert response.status_code == 204
    gone = sandbox_client.get("/api/Contact/4819")
    assert (gone.status_code, gone.content) == (404, b"")
    assert {"source": "PartnerPlatform", "id": "PP-10019"} in contact(sandbox_client)[
        "contactReferences"
    ]


def test_a_merged_away_email_no_longer_conflicts(sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4819, SHOWCASE)
    with client_for(sandbox) as client:
        body = contact(client)
        body["contactIndividuals"][0]["contactMethods"][2]["value"] = "sofia.lindqvist@example.org"
        assert client.put(CONTACT, json=body).status_code == 200


def test_a_bad_merge_request_is_refused(sandbox_client: httpx.Client) -> None:
    assert (
        sandbox_client.post("/_sandbox/contacts/4819/merge", json={"into": "4821"}).status_code
        == 400
    )
    assert (
        sandbox_client.post(
            f"/_sandbox/contacts/{SHOWCASE}/merge", json={"into": SHOWCASE}
        ).status_code
        == 400
    )
    assert sandbox_client.post("/_sandbox/contacts/4819/merge", json={"into": 1}).status_code == 404
