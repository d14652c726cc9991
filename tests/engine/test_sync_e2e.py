"""Two-way sync end to end: the real engine, the files and sql platform adapters, the
sandbox over loopback HTTP under both PUT semantics, SQLite and PostgreSQL mirrors."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import App
from syncengine.domain.ports import ConflictStatus, MirrorEntry
from syncengine.engine.push import SafeUpdater
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.engine.conftest import snapshot
from tests.engine.platforms import (
    PlatformDriver,
    SqlColumnsDriver,
)
from tests.engine.synced import CONTACT, app, build, outcome, platform, puts

__all__ = ["app", "platform"]  # fixtures, imported for pytest

ELEANOR = 48211


# -- both directions ------------------------------------------------------------------------


def test_a_contact_unknown_to_the_platform_is_written_there_on_first_sync(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    doc = platform.read(CONTACT)
    assert doc is not None
    assert doc["name"] == "The Whitfield Household"
    assert {m["id"] for p in doc["contactIndividuals"] for m in p["contactMethods"]} >= {482111}


def test_a_platform_only_change_reaches_crm(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    before = snapshot(sandbox, CONTACT)
    platform.edit(CONTACT, lambda d: d["address"].update(city="Denver"))
    report = outcome(app)
    assert report.outcome == "pushed"
    after = snapshot(sandbox, CONTACT)
    before["address"]["city"] = "Denver"
    next(a for a in before["contactAddresses"] if a["isPrimary"])["city"] = "Denver"
    assert after == before


def test_a_crm_only_change_reaches_the_platform(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "Nell & Tom"})
    sandbox.hooks.clear_requests()
    report = outcome(app)
    assert report.outcome == "pulled"
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "Nell & Tom"
    assert puts(sandbox) == [], "a CRM-only change needs no write to CRM+"


def test_changes_to_different_fields_on_both_sides_both_survive(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(description="Met at the spring gala"))
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://whitfield.example.org"})
    report = outcome(app)
    assert report.outcome == "synced"
    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    assert raw["description"] == doc["description"] == "Met at the spring gala"
    assert raw["website"] == doc["website"] == "https://whitfield.example.org"


def test_a_second_run_with_nothing_new_makes_no_write(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(description="changed once"))
    assert outcome(app).outcome == "pushed"
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == [], "our own write must not come back as a CRM-side change"


def test_same_field_newest_side_wins_and_the_decision_is_recorded(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(informalName="from the platform"))
    time.sleep(0.05)
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "from CRM, later"})
    report = outcome(app)
    assert report.conflicts == []
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "from CRM, later"
    assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "from CRM, later"
    (auto,) = app.conflicts.list(status=ConflictStatus.AUTO, contact_id=CONTACT)
    assert (auto.path, auto.rule, auto.resolution) == ("informalName", "newest", "from CRM, later")


def test_same_field_platform_newer_wins(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "from CRM, earlier"})
    time.sleep(0.05)
    platform.edit(CONTACT, lambda d: d.update(informalName="from the platform, later"))
    outcome(app)
    assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "from the platform, later"


def test_a_manual_field_opens_a_conflict_then_the_decision_reaches_both_sides(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    policies = [{"path": "informalName", "policy": "manual"}]
    with build(sandbox, database_url, platform, policies=policies) as app:
        app.runner().run_one(CONTACT)
        platform.edit(CONTACT, lambda d: d.update(informalName="platform says"))
        sandbox.hooks.ui_edit(CONTACT, {"informalName": "CRM says"})
        report = outcome(app)
        assert report.conflicts == ["informalName"]
        # Nothing is written at the field while it is open; the CRM keeps its value.
        assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "CRM says"
        doc = platform.read(CONTACT)
        assert doc is not None and doc["informalName"] == "platform says"
        # Still open on the next run: held, never silently resolved, never duplicated.
        outcome(app)
        (row,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
        assert (row.platform, row.crm, row.base) == (
            "platform says",
            "CRM says",
            "Eleanor & Thomas",
        )
        app.conflicts.resolve(row.id or 0, "platform says", resolved_by="dm", at=app.clock.now())
        outcome(app)
        assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "platform says"
        doc = platform.read(CONTACT)
        assert doc is not None and doc["informalName"] == "platform says"
        assert app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT) == []
        assert outcome(app).outcome == "unchanged"


def test_a_duplicate_email_becomes_a_conflict_not_a_crash(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    taken = "maria.alvarez@example.org"  # contact 4817's

    def change(doc: dict[str, Any]) -> None:
        person = next(p for p in doc["contactIndividuals"] if p["id"] == ELEANOR)
        next(m for m in person["contactMethods"] if m["id"] == 482111)["value"] = taken

    platform.edit(CONTACT, change)
    report = outcome(app)
    assert report.outcome == "conflict"
    path = f"contactIndividuals[id={ELEANOR}].contactMethods[id=482111].value"
    (row,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
    assert (row.path, row.platform, row.rule) == (path, taken, "duplicate-value")
    # Held: the next run does not hammer CRM+ with the same refused write.
    sandbox.hooks.clear_requests()
    outcome(app)
    assert puts(sandbox) == []


# -- creates ---------------------------------------------------------------------------------


NEW_DONOR = {
    "contactType": "Household",
    "name": "The Rivera Household",
    "contactIndividuals": [
        {
            "firstName": "Lucia",
            "lastName": "Rivera",
            "isPrimary": True,
            "contactMethods": [
                {"type": "Home Email", "value": "lucia.rivera@example.net", "isOptedIn": True}
            ],
        }
    ],
    "address": {
        "address1": "12 Oak Ave",
        "city": "Tucson",
        "state": "AZ",
        "postal": "85701",
        "country": "United States",
    },
}


def find_by_reference(sandbox: SandboxServer, key: str) -> list[int]:
    state = sandbox.hooks.raw_state()
    return [
        c["id"]
        for c in state["contacts"]
        if {"source": "portal", "id": key} in c.get("contactReferences", [])
    ]


def test_a_new_platform_contact_is_created_once_with_our_reference(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.add_new("D-100", NEW_DONOR)
    summary = app.runner().run_all()
    created = find_by_reference(sandbox, "D-100")
    assert len(created) == 1
    assert summary.to_json()["summary"]["created"] == 1
    doc = platform.read(created[0])
    assert doc is not None and doc["name"] == "The Rivera Household"
    assert "D-100" not in [k for k in platform.stored_keys() if k.startswith("new-")]
    # Again: nothing new is created.
    app.runner().run_all()
    assert find_by_reference(sandbox, "D-100") == created


def test_a_create_whose_response_is_dropped_is_never_duplicated(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.add_new("D-200", NEW_DONOR | {"name": "Dropped Answer Household"})
    sandbox.hooks.add_fault(Fault("POST", r"^/api/Contact$", drop=True))
    app.runner().run_all()
    app.runner().run_all()
    created = find_by_reference(sandbox, "D-200")
    assert len(created) == 1
    assert platform.read(created[0]) is not None
    posts = [r for r in sandbox.hooks.requests() if r.method == "POST" and r.path == "/api/Contact"]
    assert len(posts) == 1


def test_a_new_platform_contact_with_a_known_email_is_linked_not_created(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    donor = NEW_DONOR | {"name": "The Okafor Household"}
    donor["contactIndividuals"] = [
        {
            "firstName": "Ada",
            "lastName": "Okafor",
            "isPrimary": True,
            "contactMethods": [{"type": "Home Email", "value": "ada.okafor@example.org"}],
        }
    ]
    count = len(sandbox.hooks.raw_state()["contacts"])
    platform.add_new("D-300", donor)
    app.runner().run_all(force=True)
    assert len(sandbox.hooks.raw_state()["contacts"]) == count
    assert find_by_reference(sandbox, "D-300") == [4818]
    assert platform.read(4818) is not None
    # Nothing was ever agreed between the two: a first sync, where differing fields are
    # decided by the policy (newest: the platform record is the newer) and recorded.
    decided = {c.path: c for c in app.conflicts.list(status=ConflictStatus.AUTO, contact_id=4818)}
    assert decided["address.city"].rule == "newest"
    assert (decided["address.city"].crm, decided["address.city"].resolution) == (
        "Des Moines",
        "Tucson",
    )


# -- all contacts, crash safety ---------------------------------------------------------------


def test_all_costs_no_request_for_contacts_changed_nowhere(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    app.runner().run_all()
    sandbox.hooks.clear_requests()
    summary = app.runner().run_all()
    requests = [f"{r.method} {r.path}" for r in sandbox.hooks.requests()]
    assert requests == ["POST /api/Contact/Query/FullContact"]
    assert summary.to_json()["summary"]["unchanged"] >= 1


def test_all_picks_up_crm_changes_through_the_bulk_query(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    app.runner().run_all()
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://new.example.org"})
    sandbox.hooks.clear_requests()
    app.runner().run_all()
    doc = platform.read(CONTACT)
    assert doc is not None and doc["website"] == "https://new.example.org"
    # Pulled from the query's record: no per-contact GET, no write to CRM+.
    assert [r.path for r in sandbox.hooks.requests()] == ["/api/Contact/Query/FullContact"]


class Crash(BaseException):
    """A process dying: not an Exception, so nothing in the engine catches it."""


class MirrorThatCrashesOnce:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.armed = True

    def put(self, entry: MirrorEntry) -> None:
        if self.armed:
            self.armed = False
            raise Crash
        self.inner.put(entry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def rebuilt(app: App, **changes: Any) -> App:
    """``app`` with some parts swapped, and nothing built from the old ones kept (the
    runner and the sync parts are built on first use and cached)."""
    return dataclasses.replace(app, **changes, _runner=None, _parts=None)


class JournalThatCrashesOnClose:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.armed = True

    def close(self, *args: Any, **kwargs: Any) -> None:
        if self.armed:
            self.armed = False
            raise Crash
        self.inner.close(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_crash_after_the_put_before_the_mirror_update_converges_on_rerun(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(description="survives a crash"))
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://crm-side.example.org"})
    doomed = rebuilt(app, mirror=MirrorThatCrashesOnce(app.mirror))
    with pytest.raises(Crash):
        doomed.runner().run_one(CONTACT)
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "survives a crash"
    # The write was journaled and closed; only the base was not moved.
    assert app.journal.unresolved() == []
    sandbox.hooks.ui_edit(CONTACT, {"maritalStatus": "Married"})

    app.runner().run_one(CONTACT)
    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    assert raw["description"] == doc["description"] == "survives a crash"
    assert raw["website"] == doc["website"] == "https://crm-side.example.org"
    assert raw["maritalStatus"] == doc["maritalStatus"] == "Married"
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == []


def test_a_crash_after_the_put_before_the_journal_closes_is_recovered_on_rerun(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(description="survives a crash"))
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://crm-side.example.org"})
    journal = JournalThatCrashesOnClose(app.journal)
    updater = SafeUpdater(app.crm, journal, app.clock, app.updater._rules, fence=app.claims)
    doomed = rebuilt(app, journal=journal, updater=updater)
    with pytest.raises(Crash):
        doomed.runner().run_one(CONTACT)
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "survives a crash"
    assert [e.outcome.value for e in app.journal.unresolved()] == ["pending"]
    # Someone edits CRM+ before the re-run: that edit must survive the recovery too.
    sandbox.hooks.ui_edit(CONTACT, {"maritalStatus": "Married"})

    report = app.runner().run_one(CONTACT)
    assert report.recovered, "the open intent is resolved by reading CRM+ first"
    assert app.journal.unresolved() == []
    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    assert raw["description"] == doc["description"] == "survives a crash"
    assert raw["website"] == doc["website"] == "https://crm-side.example.org"
    assert raw["maritalStatus"] == doc["maritalStatus"] == "Married"
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == []


def test_a_contact_merged_away_is_relinked_to_the_survivor(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.merge(CONTACT, 4820, "pointer")
    report = outcome(app)
    assert report.outcome == "relinked"
    assert platform.read(4820) is not None
    assert platform.read(CONTACT) is None


def test_a_contact_gone_without_survivor_leaves_the_platform_alone(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    before = platform.read(CONTACT)
    sandbox.hooks.merge(CONTACT, 4820, "gone")
    report = outcome(app)
    assert report.outcome == "failed" and "left alone" in (report.error or "")
    assert platform.read(CONTACT) == before


# -- a platform with plain columns -----------------------------------------------------------


@pytest.fixture
def columns_app(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> Iterator[tuple[App, SqlColumnsDriver]]:
    driver = SqlColumnsDriver(f"sqlite:///{tmp_path}/columns.db")
    with build(sandbox, database_url, driver) as built:
        assert built.runner().run_one(CONTACT).reports[0].outcome == "pulled"
        yield built, driver


def test_mapped_columns_are_filled_on_first_sync(
    columns_app: tuple[App, SqlColumnsDriver],
) -> None:
    _, driver = columns_app
    row = driver.row(CONTACT)
    assert row is not None
    assert (row["display_name"], row["first_name"], row["email"], row["city"], row["shirt"]) == (
        "The Whitfield Household",
        "Eleanor",
        "eleanor.whitfield@example.org",
        "Boulder",
        "M",
    )


def test_a_column_change_reaches_crm_and_nothing_else_changes(
    columns_app: tuple[App, SqlColumnsDriver], sandbox: SandboxServer
) -> None:
    app, driver = columns_app
    before = snapshot(sandbox, CONTACT)
    driver.update(CONTACT, email="eleanor@portal.example.net", shirt="L")
    report = outcome(app)
    assert report.outcome == "pushed", report.error
    expected = before
    person = next(p for p in expected["contactIndividuals"] if p["id"] == ELEANOR)
    next(m for m in person["contactMethods"] if m["id"] == 482111)["value"] = (
        "eleanor@portal.example.net"
    )
    next(f for f in expected["customFields"] if f["name"] == "Shirt Size")["value"] = "L"
    assert snapshot(sandbox, CONTACT) == expected


def test_a_crm_change_updates_only_the_mapped_columns(
    columns_app: tuple[App, SqlColumnsDriver], sandbox: SandboxServer
) -> None:
    app, driver = columns_app
    driver.update(CONTACT, notes="the platform's own column")
    outcome(app)
    sandbox.hooks.ui_edit(CONTACT, {"address": {"city": "Lyons"}})
    outcome(app)
    row = driver.row(CONTACT)
    assert row is not None
    assert row["city"] == "Lyons"
    assert row["notes"] == "the platform's own column"


def test_one_failing_contact_never_stops_the_others(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    app.runner().run_one(4817)

    def break_email(doc: dict[str, Any]) -> None:
        doc["contactIndividuals"][0]["contactMethods"][0]["value"] = "not-an-email"

    platform.edit(4817, break_email)
    platform.edit(CONTACT, lambda d: d.update(description="still goes through"))
    summary = app.runner().run_all(force=True)
    outcomes = {r.contact_id: r.outcome for r in summary.reports}
    assert outcomes[4817] == "failed"
    assert outcomes[CONTACT] == "pushed"
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "still goes through"
    failed = next(r for r in summary.reports if r.contact_id == 4817)
    assert "422" in (failed.error or "")


def test_a_create_refused_for_a_duplicate_email_is_reported_for_review(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """The email belongs to an ARCHIVED contact that Find does not return here: CRM+
    answers 409, and that is a case for a person, not a crash or a duplicate."""
    donor = dict(NEW_DONOR)
    donor["contactIndividuals"] = [
        {
            "firstName": "Siobhan",
            "lastName": "Brennan",
            "isPrimary": True,
            "contactMethods": [{"type": "Home Email", "value": "siobhan.brennan@example.org"}],
        }
    ]
    sandbox.hooks.add_fault(Fault("GET", r"^/api/Contact/Find$", status=404, count=2))
    platform.add_new("D-409", donor)
    count = len(sandbox.hooks.raw_state()["contacts"])
    summary = app.runner().run_all(force=True)
    (report,) = [r for r in summary.reports if r.key == "D-409"]
    assert report.outcome == "conflict"
    assert "siobhan.brennan@example.org" in (report.error or "")
    assert len(sandbox.hooks.raw_state()["contacts"]) == count
    assert "new-D-409" in platform.stored_keys() or "D-409" in platform.stored_keys()


def test_field_directions_decide_what_flows_which_way(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    fields = [
        {"path": "informalName", "direction": "to_platform"},  # CRM+ owns it
        {"path": "description", "direction": "to_crm"},  # the platform owns it
        {"path": "website", "direction": "both"},
    ]
    with build(sandbox, database_url, platform, fields=fields) as app:
        app.runner().run_one(CONTACT)
        doc = platform.read(CONTACT)
        assert doc is not None and "name" not in doc, "fields no rule names are not synced"

        platform.edit(CONTACT, lambda d: d.update(informalName="platform edit", description="ours"))
        sandbox.hooks.ui_edit(CONTACT, {"website": "https://both.example.org"})
        outcome(app)
        raw = sandbox.hooks.raw_contact(CONTACT)
        assert raw["informalName"] == "Eleanor & Thomas", "a to_platform field is never sent"
        assert raw["description"] == "ours"
        doc = platform.read(CONTACT)
        assert doc is not None and doc["website"] == "https://both.example.org"

        sandbox.hooks.ui_edit(CONTACT, {"informalName": "CRM rename", "description": "CRM text"})
        outcome(app)
        doc = platform.read(CONTACT)
        assert doc is not None
        assert doc["informalName"] == "CRM rename", "CRM+ wins a field it owns"
        assert doc["description"] == "ours", "a to_crm field never receives CRM changes"


def test_a_companion_change_of_a_push_reaches_the_platform_and_is_never_undone(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """Marking a person deceased on the platform also opts out their contact methods in
    the same write (update.deceased_opts_out_methods). The platform must get the opt-out
    in that sync: left with its older value, the next sync would read it as a platform
    edit against the new base and opt a deceased donor's email in again."""

    def deceased(doc: dict[str, Any]) -> None:
        person = next(p for p in doc["contactIndividuals"] if p["id"] == ELEANOR)
        person["isDeceased"] = True

    platform.edit(CONTACT, deceased)
    report = outcome(app)
    assert report.outcome == "pushed"
    method = f"contactIndividuals[id={ELEANOR}].contactMethods[id=482111].isOptedIn"
    assert any(c.path == method and c.direction == "to_platform" for c in report.changes)

    def opted_in(record: dict[str, Any]) -> bool:
        person = next(p for p in record["contactIndividuals"] if p["id"] == ELEANOR)
        return bool(next(m for m in person["contactMethods"] if m["id"] == 482111)["isOptedIn"])

    doc = platform.read(CONTACT)
    assert doc is not None and not opted_in(doc)
    assert not opted_in(sandbox.hooks.raw_contact(CONTACT))
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == []
    assert not opted_in(sandbox.hooks.raw_contact(CONTACT))


def test_what_a_push_echoes_to_the_platform_adds_no_field_it_does_not_hold(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    kept = ("id", "contactType", "name", "description")

    def narrow(doc: dict[str, Any]) -> None:
        for key in [k for k in doc if k not in kept]:
            del doc[key]

    platform.edit(CONTACT, narrow)
    outcome(app)
    platform.edit(CONTACT, lambda d: d.update(description="  pushed with spaces  "))
    assert outcome(app).outcome == "pushed"
    doc = platform.read(CONTACT)
    assert doc is not None
    assert sorted(doc) == sorted(kept)
    # CRM+ trimmed the value; the merge counts the two spellings as one value, so the
    # next sync neither pushes nor pulls it.
    assert doc["description"].strip() == sandbox.hooks.raw_contact(CONTACT)["description"]
    assert outcome(app).outcome == "unchanged"
