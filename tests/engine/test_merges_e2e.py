"""Contacts merged in CRM+: the platform record follows the survivor, the survivor's CRM
record is the truth for everything the platform did not change, item ids of the
merged-away contact never reach CRM+, and a platform holding both contacts gets an open
conflict. ``sync --contact`` and ``sync --all`` alike, both PUT semantics, files and sql
platforms, SQLite and PostgreSQL.

Before: the relinked record was merged as a first sync, its fresh modification time won
every ``newest`` decision (the survivor's name and address were overwritten with the
merged-away contact's), its old item ids were sent back (400 on every run), and
``sync --all`` ignored ``mergedIntoContactId`` in the bulk query.
"""

from __future__ import annotations

import copy
from typing import Any

from syncengine.bootstrap import App
from syncengine.domain.ports import ConflictStatus
from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, app, outcome, platform, puts

__all__ = ["app", "platform"]  # fixtures, imported for pytest

SURVIVOR = 4820  # the Nakamura household, which the platform does not hold


def crm_view(sandbox: SandboxServer, contact_id: int) -> dict[str, Any]:
    raw = copy.deepcopy(sandbox.hooks.raw_contact(contact_id))
    return {k: raw[k] for k in ("name", "address", "contactIndividuals", "tags")}


def test_sync_contact_relinks_to_the_survivor_whose_crm_record_is_the_truth(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    survivor_before = crm_view(sandbox, SURVIVOR)
    sandbox.hooks.merge(CONTACT, SURVIVOR, "pointer")

    report = outcome(app)

    assert report.outcome == "relinked"
    assert platform.read(CONTACT) is None
    doc = platform.read(SURVIVOR)
    assert doc is not None
    assert doc["id"] == SURVIVOR
    assert doc["name"] == survivor_before["name"] == "The Nakamura Household"
    assert doc["address"]["city"] == "Seattle"
    assert {p["id"] for p in doc["contactIndividuals"]} == {
        p["id"] for p in survivor_before["contactIndividuals"]
    }
    after = crm_view(sandbox, SURVIVOR)
    assert after["name"] == survivor_before["name"]
    assert after["address"] == survivor_before["address"]
    # The survivor syncs cleanly from now on, with no write.
    sandbox.hooks.clear_requests()
    assert outcome(app, SURVIVOR).outcome == "unchanged"
    assert puts(sandbox) == []


def test_the_platforms_unsynced_changes_are_kept_where_they_fit_and_held_where_not(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["description"] = "edited on the portal before the merge"
        person = next(p for p in doc["contactIndividuals"] if p["isPrimary"])
        person["firstName"] = "Nell"  # an individual of the merged-away contact

    platform.edit(CONTACT, edit)
    sandbox.hooks.merge(CONTACT, SURVIVOR, "pointer")

    report = outcome(app)

    assert report.outcome == "relinked"
    raw = sandbox.hooks.raw_contact(SURVIVOR)
    doc = platform.read(SURVIVOR)
    assert doc is not None
    # A top-level field has a place in the survivor: pushed there.
    assert raw["description"] == doc["description"] == "edited on the portal before the merge"
    # The individual's edit has none (that person is not in the survivor): never sent,
    # never dropped silently: an open conflict on the survivor.
    assert "Nell" not in {p["firstName"] for p in raw["contactIndividuals"]}
    (held,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=SURVIVOR)
    assert (held.rule, held.platform, held.base) == ("merged-away", "Nell", "Eleanor")
    assert held.path.startswith("contactIndividuals[id=48211]")
    sandbox.hooks.clear_requests()
    assert outcome(app, SURVIVOR).outcome in ("unchanged", "conflict")
    assert puts(sandbox) == []


def test_sync_all_notices_a_merge_in_the_bulk_query(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    app.runner().run_all(force=True)
    sandbox.hooks.merge(CONTACT, SURVIVOR, "pointer")

    summary = app.runner().run_all(force=True)

    assert summary.failed == 0
    assert [r.outcome for r in summary.reports if r.contact_id == CONTACT] == ["relinked"]
    assert platform.read(CONTACT) is None
    doc = platform.read(SURVIVOR)
    assert doc is not None and doc["name"] == "The Nakamura Household"
    again = app.runner().run_all(force=True)
    assert again.failed == 0 and again.reports == []


def test_a_platform_holding_both_contacts_gets_an_open_conflict(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    assert outcome(app, SURVIVOR).outcome == "pulled"
    before = platform.read(CONTACT)
    sandbox.hooks.merge(CONTACT, SURVIVOR, "pointer")

    report = outcome(app)

    assert report.outcome == "conflict"
    assert platform.read(CONTACT) == before, "left alone for a person"
    (row,) = app.conflicts.list(status=ConflictStatus.OPEN)
    assert (row.contact_id, row.path, row.crm, row.rule) == (
        CONTACT,
        "mergedIntoContactId",
        SURVIVOR,
        "merged",
    )
    # Seen again: still one open conflict, refreshed, not piled up.
    outcome(app)
    assert len(app.conflicts.list(status=ConflictStatus.OPEN)) == 1


def test_a_merge_told_by_an_earlier_get_is_followed_after_the_record_is_gone(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.merge(CONTACT, SURVIVOR, "gone")
    # CRM+ answers 404 and names no survivor: the platform record is left alone...
    assert outcome(app).outcome == "failed"
    assert platform.read(CONTACT) is not None
