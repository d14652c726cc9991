"""The daemon's scheduled jobs. Each finds work and queues it; the workers sync it.

- ``PlatformWatch`` (the push job): platform records changed since their last sync (by
  modification time), and those with an outside write or a data manager's decision
  waiting, are queued as pushes. New platform records are created (or linked) right
  here, under their ``new:<key>`` claim: they have no contact id to queue by yet; once
  the request budget is spent, the creates left are counted ``deferred`` (next tick).
- ``CrmWatch`` (the pull job): one bulk query from the scope's cursor; every contact
  CRM+ changed that belongs on the platform is queued with the record the query
  returned (the worker then needs no GET to pull it). The cursor moves only after the
  items are in the queue, which is durable.
- ``Reconciler`` (the reconcile job): every contact, three versions compared (platform,
  mirror, CRM+); what disagrees, or what the other jobs may have missed (a contact
  created in CRM+ under scope ``all``, a merged or deleted contact), is queued and
  written to a drift report with the reason.

A job is a plain object with ``run(should_stop) -> counts``; the scheduler knows nothing
about syncing and the jobs know nothing about scheduling. A job that meets a spent
request budget (``CrmBudgetExhausted``: the pull's or the reconciliation's bulk query)
raises it: the daemon ends the tick as ``deferred``, and the cursor has not moved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from syncengine.domain.diff import diff
from syncengine.domain.ports import (
    Atomic,
    Clock,
    ConflictStore,
    CrmPort,
    CursorStore,
    Journal,
    LocalPlatform,
    LocalRecord,
    MirrorStore,
    Priority,
    Record,
    SyncStateStore,
    WorkQueue,
    not_atomic,
)
from syncengine.domain.syncplan import platform_view
from syncengine.domain.timestamps import newer_stamp
from syncengine.engine.budget import CREATE_REQUESTS, DEFERRED
from syncengine.engine.bulk import CursorTracker, pages
from syncengine.engine.claims import ClaimHeld, RunClaims, new_record_subject
from syncengine.engine.creates import ContactCreator
from syncengine.engine.known_contacts import (
    NEVER,
    SortedIds,
    changed_since_synced,
    micros,
    platform_stamps,
)
from syncengine.engine.run_all import RUN_STOPPING_ERRORS
from syncengine.engine.scope import Scope, belongs, cursor_name
from syncengine.engine.waiting import waiting_contacts
from syncengine.errors import CrmBudgetExhausted, LocalDataError, SyncEngineError

log = structlog.get_logger(__name__)

StopCheck = Callable[[], bool]


def _looks_changed(
    contact_id: int, modified_at: datetime, states: SortedIds, waiting: Collection[int]
) -> bool:
    """Whether the push job queues a linked record: changed on the platform since its last
    sync, or with something waiting to be carried or applied."""
    return contact_id in waiting or changed_since_synced(states, contact_id, modified_at)


def _log_retry(seen: LocalRecord, failed_at: datetime) -> None:
    """A failing contact whose record changed after its failure: the data manager may
    have fixed its cause (a malformed document, a value CRM+ refused)."""
    log.info(
        "push.retry_changed",
        contact_id=seen.contact_id,
        failed_at=failed_at.isoformat(),
        modified_at=seen.modified_at.isoformat(),
    )


def _synced_stamps(states: SyncStateStore) -> SortedIds:
    """Every sync state's platform time, streamed into an array (``known_contacts``): a
    job's memory stays flat in the number of contacts, as a ``sync --all``'s does."""
    return platform_stamps(states.stream_platform_stamps())


class PlatformWatch:
    """The push job."""

    name = "push"

    def __init__(
        self,
        platform: LocalPlatform,
        states: SyncStateStore,
        queue: WorkQueue,
        journal: Journal,
        conflicts: ConflictStore,
        creator: ContactCreator,
        claims: RunClaims,
        clock: Clock,
        crm: CrmPort,
        *,
        atomic: Atomic = not_atomic,
    ) -> None:
        self._crm = crm
        self._atomic = atomic
        self._platform = platform
        self._states = states
        self._queue = queue
        self._journal = journal
        self._conflicts = conflicts
        self._creator = creator
        self._claims = claims
        self._clock = clock

    def run(self, should_stop: StopCheck) -> dict[str, int]:
        counts: Counter[str] = Counter()
        states = _synced_stamps(self._states)
        waiting = waiting_contacts(self._journal, self._conflicts)
        budget_spent = False
        looked_changed: list[LocalRecord] = []

        def unchanged(contact_id: int, modified_at: datetime) -> bool:
            # Its document is not read, only its status.
            return not _looks_changed(contact_id, modified_at, states, waiting)

        for item in self._platform.scan_changed(unchanged):
            if should_stop():
                counts["stopped"] += 1
                break
            if isinstance(item, LocalDataError):
                log.warning("push.malformed_record", where=item.where, error=item.problem)
                counts["malformed"] += 1
                continue
            if item.contact_id is None:
                # Once the budget is spent, the creates wait for the next tick after the
                # reset; queueing the changed contacts below costs no request and goes on.
                outcome = DEFERRED if budget_spent else self._create(item)
                budget_spent = outcome == DEFERRED
                counts[outcome] += 1
                continue
            if isinstance(item, LocalRecord) and not unchanged(item.contact_id, item.modified_at):
                looked_changed.append(item)
        if looked_changed:
            counts += self._queue_changed(looked_changed)
        return dict(counts)

    def _queue_changed(self, looked_changed: list[LocalRecord]) -> Counter[str]:
        """Queue what the scan found changed, unless a worker has it in hand.

        The scan takes seconds at 10,000 records and workers sync meanwhile: the queue,
        then the states and what waits, are read again, in that order (a worker records
        a contact's state before it leaves the queue), so a contact synced during the
        scan is neither queued again nor synced for nothing (454 were, in the scale
        run). A contact still queued at push priority is left as it is: under a
        backlog every tick queued every waiting contact again, one commit each, and
        pulled a deferred or failing one's due time back to now. Except a failing one
        whose record changed after the failure: its cause may be fixed, so it is due
        now, not after its backoff (an unfixed one fails again, later than its record's
        time: no retry every tick). The rest are queued in one transaction. Not
        ``renew``: still changed because still queued (and renewing would replace a
        webhook's reason, which makes the worker read CRM+ afresh)."""
        counts: Counter[str] = Counter()
        queued = self._queue.queued(max_priority=Priority.PUSH)
        states = _synced_stamps(self._states)
        waiting = waiting_contacts(self._journal, self._conflicts)
        to_queue: list[int] = []
        for item in looked_changed:
            contact_id = item.contact_id
            assert contact_id is not None  # new records are created, not queued
            if contact_id in queued:
                failed_at = queued[contact_id]
                if failed_at is not None and item.modified_at > failed_at:
                    _log_retry(item, failed_at)
                    to_queue.append(contact_id)
                    counts["retried_changed"] += 1
                else:
                    counts["still_queued"] += 1
            elif _looks_changed(contact_id, item.modified_at, states, waiting):
                to_queue.append(contact_id)
                counts["queued"] += 1
            else:
                counts["synced_meanwhile"] += 1
        now = self._clock.now()
        with self._atomic():
            for contact_id in to_queue:
                # A queued item merges: due now, its attempts kept (they go with the row
                # once the contact syncs).
                self._queue.add(
                    contact_id, reason="platform", priority=Priority.PUSH, now=now, renew=False
                )
        return counts

    def _create(self, seen: LocalRecord) -> str:
        """Create or link a new platform record now (it has no contact id to queue by)."""
        with self._claims.holding_if_free(new_record_subject(seen.key)) as blocker:
            if blocker is not None:
                return "skipped"
            local = self._platform.get_new(seen.key)
            if local is None:
                return "skipped"  # linked by another worker meanwhile
            try:
                with self._crm.admit(CREATE_REQUESTS):
                    return self._creator.create_or_link(local).outcome
            except CrmBudgetExhausted as exc:
                log.info("push.create_deferred", key=seen.key, error=str(exc))
                return DEFERRED
            except RUN_STOPPING_ERRORS:
                raise
            except ClaimHeld:
                return "skipped"  # its email is another run's create: the next tick
            except SyncEngineError as exc:
                log.warning("push.create_failed", key=seen.key, error=str(exc))
                return "failed"


class CrmWatch:
    """The pull job."""

    name = "pull"

    def __init__(
        self,
        crm: CrmPort,
        cursors: CursorStore,
        mirror: MirrorStore,
        states: SyncStateStore,
        queue: WorkQueue,
        clock: Clock,
        *,
        scope: Scope,
        atomic: Atomic = not_atomic,
    ) -> None:
        self._crm = crm
        self._atomic = atomic
        self._cursors = cursors
        self._mirror = mirror
        self._states = states
        self._queue = queue
        self._clock = clock
        self._scope = scope

    def run(self, should_stop: StopCheck) -> dict[str, int]:
        """A page at a time: each page's contacts are queued (with their records) in one
        transaction, and only the ids and stamps seen are kept (``CursorTracker``), so a
        first pull over 100,000 contacts does not hold them all. The cursor moves only
        after every page is queued; a pull stopped or out of budget half-way leaves it
        where it was, and the next one queues the same contacts again (merged, not
        doubled: the queue holds one item a contact)."""
        counts: Counter[str] = Counter()
        name = cursor_name(self._scope)
        tracker = CursorTracker(self._cursors.get(name), name)
        synced = SortedIds.of(contact_id for contact_id, _ in self._states.stream_platform_stamps())
        for page in pages(self._crm, tracker.since):
            tracker.see(page)
            stamps = self._mirror.stamps_of([int(record["id"]) for record in page])
            with self._atomic():
                counts += self._queue_found(page, stamps, synced)
            if should_stop():
                counts["stopped"] += 1
                return dict(counts)
        # Only now: what the window held is in the queue, which survives a crash.
        self._cursors.put(tracker.cursor())
        return dict(counts)

    def _queue_found(
        self, found: Sequence[Record], stamps: Mapping[int, str | None], synced: Collection[int]
    ) -> Counter[str]:
        counts: Counter[str] = Counter()
        for record in found:
            contact_id = int(record["id"])
            counts["seen"] += 1
            if contact_id in stamps and not newer_stamp(
                record.get("modifiedDateTimeUtc"), stamps[contact_id]
            ):
                continue  # the base holds this version or a later one (our own write's)
            known = contact_id in stamps or contact_id in synced
            if not known and self._scope is Scope.LINKED:
                continue  # not the platform's: under scope linked it stays in CRM+
            # Not ``renew``: a change a sync in progress misses leaves the base behind
            # this stamp, and the next pull queues the contact again.
            self._queue.add(
                contact_id,
                reason="crm",
                priority=Priority.PULL,
                now=self._clock.now(),
                fresh=record,
                renew=False,
            )
            counts["queued"] += 1
        return counts


@dataclass
class Drift:
    contact_id: int
    reasons: list[str] = field(default_factory=list)
    malformed: int = 0  # its platform document, read for its content, was malformed


def _known_as_it_is(contact_id: int, modified_at: datetime) -> bool:
    """The reconciliation's listing: no document is read for it (``scan_changed``)."""
    return True


def _first_of_each(pairs: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Sorted ``(contact_id, value)`` pairs, one per contact id: a contact whose document
    appears twice in a listing (adapters report the second as malformed) counts once."""
    last = None
    for contact_id, value in pairs:
        if contact_id != last:
            yield contact_id, value
            last = contact_id


_PLATFORM_CHANGED = "the platform changed since the last sync"
_PLATFORM_DIFFERS = "the platform differs from the last agreed state, unmodified"


class Reconciler:
    """The reconcile job: a full comparison, the repairs queued, a drift report written."""

    name = "reconcile"

    def __init__(
        self,
        crm: CrmPort,
        mirror: MirrorStore,
        states: SyncStateStore,
        platform: LocalPlatform,
        queue: WorkQueue,
        clock: Clock,
        *,
        scope: Scope,
        report: Callable[[Mapping[str, Any]], None] | None,
        organization: str,
    ) -> None:
        self._crm = crm
        self._mirror = mirror
        self._states = states
        self._platform = platform
        self._queue = queue
        self._clock = clock
        self._scope = scope
        self._report = report
        self._organization = organization

    def run(self, should_stop: StopCheck) -> dict[str, int]:
        """Every contact compared, held as little as a ``sync --all`` holds: the
        platform's linked records are listed by their status (id and time, an array, no
        document read), CRM+'s come a page at a time with their mirror stamps, and a
        platform document is read only where the stamps say nobody changed anything and
        its content must tell (it held every platform record whole: gigabytes at
        100,000 contacts)."""
        started = self._clock.now()
        states = _synced_stamps(self._states)
        on_platform, malformed = self._platform_times()
        drift: list[Drift] = []
        checked = 0
        for page in pages(self._crm, None, include_archived=True):
            if should_stop():
                break
            stamps = self._mirror.stamps_of([int(record["id"]) for record in page])
            for record in page:
                contact_id = int(record["id"])
                checked += 1
                found = self._compare(contact_id, record, on_platform, stamps, states)
                malformed += found.malformed
                if found.reasons:
                    drift.append(found)
                    self._queue.add(
                        contact_id,
                        reason="reconcile",
                        priority=Priority.RECONCILE,
                        now=self._clock.now(),
                        fresh=record,
                        renew=False,
                    )
        if not should_stop():
            for contact_id in on_platform.unmarked():
                # On the platform, not in CRM+ any more (deleted, or merged into another
                # contact and hidden from queries): the worker's GET tells which.
                drift.append(Drift(contact_id, ["on the platform, not found in CRM+"]))
                self._queue.add(
                    contact_id,
                    reason="reconcile",
                    priority=Priority.RECONCILE,
                    now=self._clock.now(),
                    renew=False,
                )
        self._write_report(started, checked, drift)
        return {"checked": checked, "drift": len(drift), "malformed": malformed}

    def _platform_times(self) -> tuple[SortedIds, int]:
        """The linked records' contact ids with their modification times (microseconds),
        from a scan that reads no document it can stat; and how many it found malformed
        (bad names; a document read whole because its status could not be)."""
        times: list[tuple[int, int]] = []
        malformed = 0
        for item in self._platform.scan_changed(_known_as_it_is):
            if isinstance(item, LocalDataError):
                malformed += 1
            elif item.contact_id is not None:
                times.append((item.contact_id, micros(item.modified_at)))
        times.sort()
        return SortedIds(_first_of_each(times)), malformed

    def _compare(
        self,
        contact_id: int,
        record: dict[str, Any],
        on_platform: SortedIds,
        stamps: Mapping[int, str | None],
        states: SortedIds,
    ) -> Drift:
        found = Drift(contact_id)
        here = on_platform.mark(contact_id) is not None
        if record.get("mergedIntoContactId") and here:
            found.reasons.append(f"merged into {record['mergedIntoContactId']} in CRM+")
            return found
        if not here:
            if belongs(self._scope, on_platform=False, synced_before=contact_id in states):
                found.reasons.append("in CRM+ and in scope, not on the platform")
            return found
        stamp = record.get("modifiedDateTimeUtc")
        if contact_id not in stamps:
            found.reasons.append("on the platform, never synced")
        elif stamps[contact_id] != stamp:
            found.reasons.append("CRM+ changed since the last sync")
        synced = states.value(contact_id, NEVER)
        # Synced while its time was not settled (``LocalRecord.settled``): no stamp tells
        # whether it changed since, so its content does (below).
        unsettled = contact_id in states and synced == NEVER
        if not unsettled and on_platform.value(contact_id, NEVER) > synced:
            found.reasons.append(_PLATFORM_CHANGED)
        if not found.reasons:
            found.reasons += [
                # Without a settled stamp, a platform record that differs was edited.
                _PLATFORM_CHANGED if unsettled and reason == _PLATFORM_DIFFERS else reason
                for reason in self._content_drift(contact_id, record, found)
            ]
        return found

    def _content_drift(self, contact_id: int, record: dict[str, Any], found: Drift) -> list[str]:
        """Nobody changed anything, by the stamps: do the three versions agree? The
        platform's document is read here, one at a time."""
        entry = self._mirror.get(contact_id)
        if entry is None:
            return []
        reasons: list[str] = []
        if diff(entry.record, record):
            reasons.append("CRM+ differs from the mirror at the same modification stamp")
        try:
            local = self._platform.get(contact_id)
            if local is None:
                return reasons  # removed since the listing: the next reconciliation
            ours = platform_view(local, entry.record)
        except LocalDataError as exc:
            found.malformed += 1
            return [*reasons, f"the platform record is malformed: {exc.problem}"]
        if diff(entry.record, ours):
            reasons.append(_PLATFORM_DIFFERS)
        return reasons

    def _write_report(self, started: datetime, checked: int, drift: list[Drift]) -> None:
        if self._report is None:
            return
        self._report(
            {
                "organization": self._organization,
                "started_at": started.isoformat(),
                "finished_at": self._clock.now().isoformat(),
                "contacts_checked": checked,
                "drift": [{"contact_id": d.contact_id, "reasons": d.reasons} for d in drift],
            }
        )
