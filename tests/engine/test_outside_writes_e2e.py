"""Writes made outside the two-way sync (``push``, ``archive``, a data manager's decision)
reach the platform and are never reverted by the next sync, under both PUT semantics,
with a files or sql platform, on SQLite and PostgreSQL.

Before: ``push`` moved the merge base but not the platform, so the next sync read the
platform's old value as a platform edit and pushed it back over the push.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from syncengine.bootstrap import App
from syncengine.domain.paths import REMOVE
from syncengine.domain.plan import Change, parse_assignment
from syncengine.domain.ports import ConflictStatus
from syncengine.engine.claims import contact_subject
from syncengine.errors import VerificationError
from syncengine.sandbox import PutSemantics, SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, app, build, outcome, platform, puts

__all__ = ["app", "platform"]  # fixtures, imported for pytest


def push(app: App, *assignments: str) -> None:
    report = app.manual.push(CONTACT, [parse_assignment(a) for a in assignments])
    assert report.changed


def test_a_push_reaches_the_platform_and_the_next_sync_does_not_revert_it(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    push(app, "address.city=Denver")
    sandbox.hooks.clear_requests()

    report = outcome(app)

    assert sandbox.hooks.raw_contact(CONTACT)["address"]["city"] == "Denver"
    doc = platform.read(CONTACT)
    assert doc is not None and doc["address"]["city"] == "Denver"
    assert puts(sandbox) == [], "the push is carried to the platform, never sent back"
    assert [(c.direction, c.path, c.rule) for c in report.changes] == [
        ("to_platform", "address.city", "push")
    ]
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == []


def test_sync_all_carries_a_push_too(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    push(app, "informalName=Nell")
    summary = app.runner().run_all(force=True)
    assert summary.failed == 0
    assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "Nell"
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "Nell"
    assert app.journal.uncarried() == []


def test_a_crm_edit_made_before_the_push_is_not_reverted_either(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    # The push's GET sees this UI edit; had the push folded it into the merge base, the
    # platform's older value would have been pushed back over it.
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://ui.example.org"})
    push(app, "address.city=Denver")

    outcome(app)

    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    assert raw["website"] == doc["website"] == "https://ui.example.org"
    assert raw["address"]["city"] == doc["address"]["city"] == "Denver"


def test_a_push_wins_over_an_older_platform_edit_of_the_same_field_and_says_so(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    platform.edit(CONTACT, lambda d: d.update(informalName="portal's", description="portal"))
    push(app, "informalName=pushed")

    report = outcome(app)

    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    assert raw["informalName"] == doc["informalName"] == "pushed"
    # The platform's other unsynced edit still goes to CRM+.
    assert raw["description"] == doc["description"] == "portal"
    assert report.outcome == "synced"
    (decision,) = app.conflicts.list(status=ConflictStatus.AUTO, contact_id=CONTACT)
    assert (decision.path, decision.rule, decision.platform, decision.resolution) == (
        "informalName",
        "push",
        "portal's",
        "pushed",
    )


def test_a_removal_and_an_added_item_are_carried(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    changes = [parse_assignment('contactReferences[+]={"source": "crm-admin", "id": "X-9"}')]
    # Under patch semantics no PUT can remove an item (docs/sync.md): only replace here.
    removing = sandbox.settings.put_semantics is PutSemantics.REPLACE
    if removing:
        changes.append(Change("tags[=Gala 2024]", REMOVE))
    app.manual.push(CONTACT, changes)
    outcome(app)
    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform.read(CONTACT)
    assert doc is not None
    if removing:
        assert "Gala 2024" not in raw["tags"] and "Gala 2024" not in doc["tags"]
    reference = {"source": "crm-admin", "id": "X-9"}
    assert reference in raw["contactReferences"] and reference in doc["contactReferences"]
    sandbox.hooks.clear_requests()
    assert outcome(app).outcome == "unchanged"
    assert puts(sandbox) == []


def test_an_outside_removal_crm_did_not_apply_leaves_both_sides_as_crm_holds_them(
    app: App, platform: PlatformDriver, sandbox_patch: SandboxServer, database_url: str
) -> None:
    # Under patch semantics the removal is not applied (a verification mismatch): the
    # platform keeps the tag, as CRM+ does; nothing is removed on one side only.
    with build(sandbox_patch, database_url, platform) as patched:
        patched.runner().run_one(CONTACT)
        with pytest.raises(VerificationError):
            patched.manual.push(CONTACT, [Change("tags[=Gala 2024]", REMOVE)])
        outcome(patched)
        doc = platform.read(CONTACT)
        assert doc is not None and "Gala 2024" in doc["tags"]
        assert "Gala 2024" in sandbox_patch.hooks.raw_contact(CONTACT)["tags"]
        assert patched.journal.uncarried() == []


def test_archive_and_unarchive_reach_the_platform_without_moving_the_base(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.ui_edit(CONTACT, {"website": "https://ui.example.org"})
    app.manual.set_archived(CONTACT, True)
    sandbox.hooks.clear_requests()

    outcome(app)

    doc = platform.read(CONTACT)
    assert doc is not None and doc["isArchived"] is True
    assert doc["website"] == "https://ui.example.org"
    assert puts(sandbox) == []
    assert sandbox.hooks.raw_contact(CONTACT)["isArchived"] is True
    entry = app.mirror.get(CONTACT)
    assert entry is not None and entry.archived

    app.manual.set_archived(CONTACT, False)
    outcome(app)
    doc = platform.read(CONTACT)
    assert doc is not None and doc["isArchived"] is False


def test_a_push_to_a_contact_the_sync_does_not_know_brings_nothing_onto_the_platform(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    app.manual.push(4820, [parse_assignment("description=pushed by hand")])
    assert app.mirror.get(4820) is None
    app.runner().run_all(force=True)
    assert platform.read(4820) is None
    assert app.journal.uncarried() == []


def test_a_data_managers_typed_value_reaches_both_sides_in_sync_all(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    policies = [{"path": "informalName", "policy": "manual"}]
    with build(sandbox, database_url, platform, policies=policies) as app:
        app.runner().run_one(CONTACT)
        platform.edit(CONTACT, lambda d: d.update(informalName="platform says"))
        sandbox.hooks.ui_edit(CONTACT, {"informalName": "CRM says"})
        app.runner().run_all(force=True)
        (row,) = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
        app.conflicts.resolve(
            row.id or 0, "typed by a person", resolved_by="dm", at=app.clock.now()
        )

        # Neither side changed since: --all still applies the decision.
        app.runner().run_all(force=True)

        doc = platform.read(CONTACT)
        assert doc is not None
        assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "typed by a person"
        assert doc["informalName"] == "typed by a person"
        sandbox.hooks.clear_requests()
        assert outcome(app).outcome == "unchanged"
        assert puts(sandbox) == []


def test_a_push_waits_for_a_sync_of_the_same_contact_in_another_run(
    app: App, platform: PlatformDriver, sandbox: SandboxServer, database_url: str
) -> None:
    with build(sandbox, database_url, platform) as other_run:
        other_run.claims.take(contact_subject(CONTACT))
        released = threading.Event()

        def finish_other_run() -> None:
            time.sleep(0.5)
            other_run.claims.give_back(contact_subject(CONTACT))
            released.set()

        threading.Thread(target=finish_other_run).start()
        started = time.monotonic()
        push(app, "informalName=after the other run")
        assert released.is_set(), "the push waited for the other run's claim"
        assert time.monotonic() - started >= 0.4
    assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "after the other run"


def test_a_push_gives_up_with_a_clear_error_when_the_contact_stays_held(
    app: App, platform: PlatformDriver, sandbox: SandboxServer, database_url: str
) -> None:
    from syncengine.engine.claims import ClaimHeld

    with build(sandbox, database_url, platform) as other_run:
        other_run.claims.take(contact_subject(CONTACT))
        sandbox.hooks.clear_requests()
        app.claims._settings = type(app.claims._settings)(wait=timedelta(seconds=0.3))
        with pytest.raises(ClaimHeld, match="contact:4821 is being worked on by another run"):
            push(app, "informalName=never sent")
        assert puts(sandbox) == []
