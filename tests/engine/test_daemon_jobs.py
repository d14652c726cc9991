"""The daemon's jobs and workers in process: the push, pull and reconcile jobs queue what
changed, the worker syncs it under claims, with backoff on failure. The real engine, the
sandbox over loopback HTTP under both PUT semantics, files and sql platforms, SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import App, DaemonParts
from syncengine.domain.ports import Priority, WorkItem
from syncengine.engine.claims import contact_subject
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from syncengine.store.cursors import SqlCursorStore
from tests.engine.conftest import household
from tests.engine.platforms import FilesDriver, PlatformDriver
from tests.engine.synced import CONTACT, app, build, platform
from tests.fixtures.sandbox import SandboxFactory

__all__ = ["app", "platform"]  # fixtures, imported for pytest

NEVER = lambda: False  # noqa: E731  (a stop check that never stops)


def run(parts: DaemonParts, job: str) -> dict[str, int]:
    (chosen,) = [j for j in parts.jobs if j.name == job]
    return chosen.run(NEVER)


def requests(sandbox: SandboxServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.hooks.requests()]


def test_k_platform_edits_between_two_looks_cost_one_get_and_one_put(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    for n in range(3):
        platform.edit(CONTACT, lambda d, n=n: d.update(description=f"edit {n}"))
        # Queued once; the later looks find it still queued and write nothing.
        assert run(parts, "push") == ({"queued": 1} if n == 0 else {"still_queued": 1})
    sandbox.hooks.clear_requests()

    (report,) = parts.worker.work()

    assert report.outcome == "pushed"
    assert requests(sandbox) == [f"GET /api/Contact/{CONTACT}", f"PUT /api/Contact/{CONTACT}"]
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "edit 2"
    assert parts.queue.depth() == 0
    # Nothing changed since. A document edited within the file system's timestamp
    # resolution is looked at once more (its time is not settled), at no request.
    settled = platform.adapter != "files"
    assert run(parts, "push") == ({} if settled else {"queued": 1})
    sandbox.hooks.clear_requests()
    assert [r.outcome for r in parts.worker.work()] == ([] if settled else ["unchanged"])
    assert requests(sandbox) == []


class ScanWhileAWorkerSyncs:
    """The platform, whose scan lets a worker sync the queued contacts before it starts
    handing out records: what a tick meets when its scan takes seconds."""

    def __init__(self, inner: Any, parts: DaemonParts) -> None:
        self.inner = inner
        self.parts = parts

    def scan(self) -> Any:
        while self.parts.worker.work():
            pass
        yield from self.inner.scan()

    def scan_changed(self, unchanged: Any) -> Any:
        while self.parts.worker.work():
            pass
        yield from self.inner.scan_changed(unchanged)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_contact_synced_while_the_push_job_scans_is_not_queued_again(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    platform.edit(CONTACT, lambda d: d.update(description="edited"))
    platform.settle(CONTACT)  # else its sync leaves it to be looked at once more
    assert run(parts, "push") == {"queued": 1}
    (push,) = [j for j in parts.jobs if j.name == "push"]
    push._platform = ScanWhileAWorkerSyncs(push._platform, parts)  # type: ignore[attr-defined]
    sandbox.hooks.clear_requests()

    # The tick read the states before the worker synced the contact: by the end of its
    # scan the contact is neither queued nor changed any more.
    assert push.run(NEVER) == {"synced_meanwhile": 1}
    assert parts.queue.depth() == 0
    assert requests(sandbox) == [f"GET /api/Contact/{CONTACT}", f"PUT /api/Contact/{CONTACT}"]


def test_the_pull_job_queues_crm_changes_with_their_record_and_the_worker_needs_no_get(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    run(parts, "pull")  # the first pull: everything up to now
    parts.worker.work()
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "Nell"})
    sandbox.hooks.clear_requests()

    counts = run(parts, "pull")
    reports = parts.worker.work()

    assert counts["queued"] == 1
    assert [r.outcome for r in reports] == ["pulled"]
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "Nell"
    assert requests(sandbox) == ["POST /api/Contact/Query/FullContact"]


def test_a_webhook_after_the_pull_read_the_record_makes_the_worker_read_it_afresh(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """The pull queued the contact with the record it read; CRM+ changed the contact
    again and the webhook said so before a worker took the item. The older record must
    not be synced as CRM+'s (found by the simulation, seed 50788)."""
    parts = app.daemon_parts()
    run(parts, "pull")
    parts.worker.work()
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "Nell"})
    assert run(parts, "pull")["queued"] == 1
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "Eleanor"})
    parts.queue.add(CONTACT, reason="webhook", priority=Priority.PUSH, now=app.clock.now())
    sandbox.hooks.clear_requests()

    assert [r.outcome for r in parts.worker.work()] == ["pulled"]

    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "Eleanor"
    assert requests(sandbox) == [f"GET /api/Contact/{CONTACT}"]
    entry = app.mirror.get(CONTACT)
    assert entry is not None and entry.record["informalName"] == "Eleanor"


def test_the_look_after_a_pull_costs_no_request(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """A document the worker just wrote has a time that is not settled (files: within
    the file system's resolution): the push job queues it for one more look, which plans
    against the mirror and makes no request. (An edit in that tick would be pushed:
    tests/engine/test_racy_stamps.py.)"""
    parts = app.daemon_parts()
    run(parts, "pull")
    parts.worker.work()
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "Nell"})
    run(parts, "pull")
    assert [r.outcome for r in parts.worker.work()] == ["pulled"]
    crm_before = sandbox.hooks.raw_contact(CONTACT)
    sandbox.hooks.clear_requests()

    run(parts, "push")
    reports = parts.worker.work()

    assert [r.outcome for r in reports] in ([], ["unchanged"])
    assert requests(sandbox) == []
    assert sandbox.hooks.raw_contact(CONTACT) == crm_before
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "Nell"


def test_under_scope_linked_a_contact_created_in_crm_stays_in_crm(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    run(parts, "pull")
    parts.worker.work()
    assert platform.read(4820) is None


def test_switching_to_scope_all_brings_what_linked_pulls_passed_over(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform) as linked:
        linked.runner().run_one(CONTACT)
        parts = linked.daemon_parts()
        run(parts, "pull")
        parts.worker.work()
        assert platform.read(4820) is None
    with build(sandbox, database_url, platform, scope="all") as everything:
        parts = everything.daemon_parts()
        # A new cursor: the whole organisation (8 contacts; 4822 is archived, hence not
        # in the query, and 4821 is already held at the same stamp).
        assert run(parts, "pull")["queued"] == 6
        parts.worker.work()
        doc = platform.read(4820)
        assert doc is not None and doc["name"] == "The Nakamura Household"


def test_a_failing_contact_waits_out_a_backoff_shows_as_failing_and_blocks_nobody(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    app.runner().run_one(4820)
    platform.edit(CONTACT, lambda d: d.update(description="fails"))
    platform.edit(4820, lambda d: d.update(description="goes through"))
    run(parts, "push")
    sandbox.hooks.add_fault(Fault("PUT", rf"^/api/Contact/{CONTACT}$", status=400, count=50))

    reports = parts.worker.work()

    assert sorted((r.contact_id, r.outcome) for r in reports) == [
        (4820, "pushed"),
        (CONTACT, "failed"),
    ]
    (failing,) = parts.queue.failing()
    assert failing.contact_id == CONTACT and failing.attempts == 1 and failing.last_error
    assert failing.due_at - app.clock.now() > timedelta(seconds=20), "a backoff, not a spin"
    assert parts.worker.work() == [], "not due again before its backoff"


def fail_once(parts: DaemonParts, platform: PlatformDriver, sandbox: SandboxServer) -> WorkItem:
    """CONTACT edited on the platform, queued by the push job, and refused by CRM+ (a
    value it does not accept): the failing item, waiting out its backoff."""
    platform.edit(CONTACT, lambda d: d.update(description="refused"))
    assert run(parts, "push") == {"queued": 1}
    sandbox.hooks.add_fault(Fault("PUT", rf"^/api/Contact/{CONTACT}$", status=422, count=1))
    (report,) = parts.worker.work()
    assert report.outcome == "failed"
    failing = parts.queue.get(CONTACT)
    assert failing is not None and failing.attempts == 1 and failing.failed_at is not None
    return failing


def test_a_failing_contact_whose_record_changed_after_the_failure_is_retried_at_once(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    failing = fail_once(parts, platform, sandbox)
    assert failing.failed_at is not None
    # The data manager changes the refused value: the record's time is after the failure.
    platform.edit(CONTACT, lambda d: d.update(description="accepted"))
    platform.stamp(CONTACT, failing.failed_at + timedelta(milliseconds=1))

    assert run(parts, "push") == {"retried_changed": 1}

    retried = parts.queue.get(CONTACT)
    assert retried is not None
    assert retried.due_at <= app.clock.now() < failing.due_at, "due now, not after its backoff"
    assert (retried.attempts, retried.generation) == (1, failing.generation)
    (report,) = parts.worker.work()
    assert report.outcome == "pushed"
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "accepted"
    assert parts.queue.get(CONTACT) is None and parts.queue.failing() == []


def test_a_failing_contact_whose_record_did_not_change_keeps_its_backoff(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    """No retry every tick: the record's time is before the failure."""
    parts = app.daemon_parts()
    failing = fail_once(parts, platform, sandbox)
    assert failing.failed_at is not None
    platform.stamp(CONTACT, failing.failed_at - timedelta(milliseconds=1))
    sandbox.hooks.clear_requests()

    for _ in range(2):
        assert run(parts, "push") == {"still_queued": 1}
        assert parts.worker.work() == []

    kept = parts.queue.get(CONTACT)
    assert kept is not None
    assert (kept.due_at, kept.attempts, kept.failed_at) == (
        failing.due_at,
        1,
        failing.failed_at,
    )
    assert requests(sandbox) == []


def test_a_document_corrected_after_it_failed_as_malformed_is_synced_at_the_next_tick(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """The document breaks before the worker reads it (its contact was enqueued); once
    corrected, with a time after the failure, the push job's next tick has it synced."""
    files = FilesDriver(tmp_path / "platform")
    with build(sandbox, database_url, files) as linked:
        linked.runner().run_one(CONTACT)
        parts = linked.daemon_parts()
        path = files.folder / f"{CONTACT}.json"
        good = json.loads(path.read_text())
        path.write_text('{"id": 4821, "name": ')
        parts.queue.add(CONTACT, reason="enqueue", priority=Priority.PUSH, now=linked.clock.now())
        (report,) = parts.worker.work()
        assert report.outcome == "failed" and "invalid JSON" in (report.error or "")
        failing = parts.queue.get(CONTACT)
        assert failing is not None and failing.failed_at is not None
        assert run(parts, "push") == {"malformed": 1}

        path.write_text(json.dumps({**good, "description": "corrected"}))
        files.stamp(CONTACT, failing.failed_at + timedelta(milliseconds=1))

        assert run(parts, "push") == {"retried_changed": 1}
        (synced,) = parts.worker.work()

    assert synced.outcome == "pushed"
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "corrected"


def test_a_contact_another_worker_holds_is_left_to_it(
    app: App, platform: PlatformDriver, sandbox: SandboxServer, database_url: str
) -> None:
    parts = app.daemon_parts()
    platform.edit(CONTACT, lambda d: d.update(description="held elsewhere"))
    run(parts, "push")
    with build(sandbox, database_url, platform) as other:
        other.claims.take(contact_subject(CONTACT))
        assert parts.worker.work() == []
        assert parts.queue.depth() == 1
    (report,) = parts.worker.work()
    assert report.outcome == "pushed"


def test_a_webhook_arriving_during_a_sync_keeps_the_contact_queued(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    platform.edit(CONTACT, lambda d: d.update(description="first"))
    run(parts, "push")
    original = parts.queue.done

    def webhook_then_done(contact_id: int, generation: int) -> None:
        parts.queue.add(contact_id, reason="webhook", priority=Priority.PUSH, now=app.clock.now())
        original(contact_id, generation)

    parts.queue.done = webhook_then_done  # type: ignore[method-assign]
    parts.worker.work(limit=1)
    parts.queue.done = original  # type: ignore[method-assign]
    (item,) = parts.queue.due(now=app.clock.now(), limit=5)
    assert item.reason == "webhook"


def test_the_reconcile_job_reports_drift_and_queues_the_repairs(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    written: list[Mapping[str, Any]] = []
    parts = app.daemon_parts()
    (reconciler,) = [j for j in parts.jobs if j.name == "reconcile"]
    reconciler._report = written.append
    sandbox.hooks.ui_edit(CONTACT, {"informalName": "changed in CRM"})

    counts = reconciler.run(NEVER)

    assert counts["drift"] >= 1 and counts["checked"] == 8
    (report,) = written
    drift = {d["contact_id"]: d["reasons"] for d in report["drift"]}
    assert drift[CONTACT] == ["CRM+ changed since the last sync"]
    parts.worker.work()
    doc = platform.read(CONTACT)
    assert doc is not None and doc["informalName"] == "changed in CRM"


@pytest.mark.parametrize("reason", ["webhook", "enqueue"])
def test_a_queued_contact_outside_the_scope_is_dropped_without_a_request(
    app: App, sandbox: SandboxServer, platform: PlatformDriver, reason: str
) -> None:
    parts = app.daemon_parts()
    parts.queue.add(4820, reason=reason, priority=Priority.PUSH, now=app.clock.now())
    sandbox.hooks.clear_requests()
    (report,) = parts.worker.work()
    assert report.outcome == "unchanged" and "local.scope" in report.notes[0]
    assert requests(sandbox) == []
    assert platform.read(4820) is None and parts.queue.depth() == 0


def test_the_reconcile_job_finds_what_a_scope_change_left_behind_the_cursor(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform) as linked:
        linked.runner().run_one(CONTACT)
        parts = linked.daemon_parts()
        run(parts, "pull")  # scope linked: 4820 passed over, the cursor moves on
        parts.worker.work()
    with build(sandbox, database_url, platform, scope="all") as everything:
        parts = everything.daemon_parts()
        (reconciler,) = [j for j in parts.jobs if j.name == "reconcile"]
        reconciler._report = None
        counts = reconciler.run(NEVER)
        assert counts["drift"] >= 6
        parts.worker.work()
        doc = platform.read(4820)
        assert doc is not None and doc["name"] == "The Nakamura Household"


def test_a_record_the_pull_saw_before_our_own_push_never_takes_the_platform_back(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    seen_before = sandbox.hooks.raw_contact(CONTACT)  # what a slow pull query saw
    seen_before.pop("contactAddresses", None)
    seen_before.pop("isArchived", None)
    platform.edit(CONTACT, lambda d: d.update(description="the portal's own"))
    run(parts, "push")
    parts.worker.work()  # pushed: the base is now later than what the pull saw
    parts.queue.add(
        CONTACT, reason="crm", priority=Priority.PULL, now=app.clock.now(), fresh=seen_before
    )

    parts.worker.work()

    doc = platform.read(CONTACT)
    assert doc is not None and doc["description"] == "the portal's own"
    assert sandbox.hooks.raw_contact(CONTACT)["description"] == "the portal's own"


def test_an_item_another_worker_synced_after_this_one_read_its_batch_is_not_synced_again(
    app: App, platform: PlatformDriver, sandbox: SandboxServer, database_url: str
) -> None:
    parts = app.daemon_parts()
    platform.edit(CONTACT, lambda d: d.update(description="once"))
    run(parts, "push")
    stale_batch = parts.queue.due(now=app.clock.now(), limit=50)
    with build(sandbox, database_url, platform) as other:
        other.daemon_parts().worker.work()  # the other worker syncs it first
    sandbox.hooks.clear_requests()
    original_due = parts.queue.due
    answers = iter([stale_batch])

    def stale_then_real(**kwargs: Any) -> Any:
        return next(answers, None) or original_due(**kwargs)

    parts.queue.due = stale_then_real  # type: ignore[method-assign]
    try:
        assert parts.worker.work() == []
    finally:
        parts.queue.due = original_due  # type: ignore[method-assign]
    assert requests(sandbox) == []


def test_looking_again_at_a_queued_contact_does_not_make_it_synced_twice(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    parts = app.daemon_parts()
    platform.edit(CONTACT, lambda d: d.update(description="edited"))
    run(parts, "push")
    (picked,) = parts.queue.due(now=app.clock.now(), limit=5)
    run(parts, "push")  # the next look, before the worker got to it
    run(parts, "push")
    current = parts.queue.get(CONTACT)
    assert current is not None and current.generation == picked.generation


def test_the_reconciliation_reads_a_document_to_compare_it_and_names_one_malformed(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """The listing reads no document; the content check reads the one it compares. A
    document broken without its time moving (a restore, a copy keeping times) is named
    malformed there, not taken for a contact missing from the platform."""
    files = FilesDriver(tmp_path / "platform")
    with build(sandbox, database_url, files) as linked:
        linked.runner().run_one(CONTACT)
        files.settle(CONTACT)
        linked.runner().run_one(CONTACT)  # its settled time recorded: nothing changed since
        path = files.folder / f"{CONTACT}.json"
        times = path.stat()
        path.write_text('{"id": 4821, "name": ')
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        stray = files.folder / "99999.json"  # linked, yet no such contact in CRM+
        stray.write_text(json.dumps({"id": 99999, "name": "Nobody"}))
        files.settle(99999)
        written: list[Mapping[str, Any]] = []
        parts = linked.daemon_parts()
        (reconciler,) = [j for j in parts.jobs if j.name == "reconcile"]
        reconciler._report = written.append

        counts = reconciler.run(NEVER)

    assert counts["malformed"] == 1
    (report,) = written
    drift = {d["contact_id"]: d["reasons"] for d in report["drift"]}
    (reason,) = drift[CONTACT]
    assert reason.startswith("the platform record is malformed: invalid JSON")
    assert drift[99999] == ["on the platform, not found in CRM+"]


def test_the_pull_job_queues_a_page_at_a_time_and_moves_its_cursor_at_the_end(
    sandbox_factory: SandboxFactory, database_url: str, tmp_path: Path
) -> None:
    """A first pull over more than a page: each page queued as it comes (none held for
    the end), the cursor moved only once every page is queued; stopped half-way, the
    next pull starts again from where the cursor was, and queues nothing twice."""
    contacts = range(20_001, 21_051)  # a page and 50
    sandbox = sandbox_factory(seed={"contacts": [household(i) for i in contacts]})
    files = FilesDriver(tmp_path / "platform")
    with build(sandbox, database_url, files, scope="all") as fresh:
        parts = fresh.daemon_parts()
        (pull,) = [j for j in parts.jobs if j.name == "pull"]
        cursors = SqlCursorStore(fresh.database, organization=fresh.settings.organization)

        stopped = pull.run(lambda: True)  # asked to stop after its first page
        assert stopped == {"seen": 1000, "queued": 1000, "stopped": 1}
        assert parts.queue.depth() == 1000
        assert cursors.get("contacts:all") is None

        finished = pull.run(NEVER)
        assert (finished["seen"], finished["queued"]) == (1050, 1050)
        assert parts.queue.depth() == 1050
        cursor = cursors.get("contacts:all")
        assert cursor is not None and cursor.high_water is not None
