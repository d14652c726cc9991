"""Every lookup by email or reference (Contact/Find, ContactIndividual/Find, the two
lookups by reference, the import matcher) answers from the store's indexes exactly what
a scan of every contact answers, after a mixed sequence of writes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from syncengine.sandbox import SandboxServer
from syncengine.sandbox.email_index import emails_of, is_live
from tests.sandbox.helpers import ARCHIVED_CONTACT, SHOWCASE, contact, ok, put
from tests.sandbox.test_indexes import OTHER, new_contact, set_eleanor_email

Match = Callable[[dict[str, Any]], bool]


def scanned(sandbox: SandboxServer, matches: Match) -> int | None:
    """The lowest live contact id ``matches`` accepts, reading every stored contact."""
    with sandbox.state.lock:
        found = [c["id"] for c in sandbox.state.store.all() if is_live(c) and matches(c)]
    return min(found, default=None)


def holds_email(lowered: str, contact: dict[str, Any]) -> bool:
    return lowered in emails_of(contact)


def holds_reference(reference: dict[str, str], contact: dict[str, Any]) -> bool:
    return reference in contact["contactReferences"]


def holds_reference_id(reference_id: str, contact: dict[str, Any]) -> bool:
    return any(r.get("id") == reference_id for r in contact["contactReferences"])


def answered(response: httpx.Response, key: str = "id") -> int | None:
    if response.status_code == 404:
        return None
    return int(ok(response)[key])


def probes(sandbox: SandboxServer) -> tuple[set[str], set[tuple[str, str]]]:
    """Every email and reference stored now (merged-away contacts' included)."""
    with sandbox.state.lock:
        stored = sandbox.state.store.all()
        emails = {e for c in stored for e in emails_of(c).values()}
        references = {(r["source"], r["id"]) for c in stored for r in c["contactReferences"]}
    return emails, references


def assert_lookups_match_a_scan(
    sandbox: SandboxServer, client: httpx.Client, emails: set[str], refs: set[tuple[str, str]]
) -> None:
    for email in sorted(emails | {"nobody@example.org"}):
        expected = scanned(sandbox, partial(holds_email, email.lower()))
        # Any case finds it: the index is keyed lower-case, as the scan compares.
        by_email = client.get("/api/Contact/Find", params={"email": email.upper()})
        assert answered(by_email) == expected, email
        person = client.get("/api/ContactIndividual/Find", params={"email": email})
        assert answered(person, "contactId") == expected, email
    for source, ref_id in sorted(refs | {("PartnerPlatform", "PP-00000")}):
        reference = {"source": source, "id": ref_id}
        exact = scanned(sandbox, partial(holds_reference, reference))
        params = {"referenceSource": source, "referenceId": ref_id}
        assert answered(client.get("/api/Contact/Find", params=params)) == exact, reference
        assert answered(client.get(f"/api/Contact/{source}/{ref_id}")) == exact, reference
        any_source = scanned(sandbox, partial(holds_reference_id, ref_id))
        assert answered(client.get(f"/api/Contact/ByReference/{ref_id}")) == any_source, ref_id


def test_lookups_answer_as_a_scan_after_mixed_writes(
    sandbox: SandboxServer, sandbox_client: httpx.Client
) -> None:
    client = sandbox_client
    emails, refs = probes(sandbox)

    def check() -> None:
        now_emails, now_refs = probes(sandbox)
        emails.update(now_emails)  # what was once stored must now be answered as a scan does
        refs.update(now_refs)
        assert_lookups_match_a_scan(sandbox, client, emails, refs)

    check()
    ok(set_eleanor_email(client, "Nell.Whitfield@Example.org"))  # the old one is freed
    # 4821's reference id under another source on a LOWER id: ByReference must pick 4817.
    record = contact(client, OTHER)
    record["contactReferences"].append({"source": "Shop", "id": "PP-10021"})
    ok(put(client, f"/api/Contact/{OTHER}", record))
    assert ok(client.get("/api/Contact/ByReference/PP-10021"))["id"] == OTHER
    created = ok(client.post("/api/Contact", json=new_contact("fresh@example.org")))
    with_ref = {**new_contact("shop@example.org"), "referenceSource": "Shop", "referenceId": "7"}
    ok(client.post("/api/Contact", json=with_ref))
    check()
    # Imports: one matched by reference, one by email (adding a reference), one created.
    transactions = [
        {"referenceSource": "Shop", "referenceId": "7", "email": "shop2@example.org"},
        {"referenceSource": "Shop", "referenceId": "8", "email": "FRESH@example.org"},
        {"referenceSource": "Shop", "referenceId": "9", "name": "New", "email": "n@example.org"},
    ]
    ok_empty = [client.post("/api/Contact/Transaction", json=t) for t in transactions]
    assert [r.status_code for r in ok_empty] == [200, 200, 200]
    applied = ok(client.post("/_sandbox/imports/apply"))
    assert [a["matchedBy"] for a in applied] == ["reference", "email", None]
    assert applied[1]["contactId"] == created["id"]
    check()
    assert client.put(f"/api/Contact/Archive/{created['id']}").status_code == 200
    sandbox.hooks.merge(OTHER, SHOWCASE, "pointer")  # gone from every lookup
    sandbox.hooks.merge(ARCHIVED_CONTACT, SHOWCASE, "gone")
    check()
    sandbox.hooks.seed(sandbox.state.initial_seed)
    check()
