"""``sync --all``: every contact the platform holds or the mirror knows.

1. Open intents of earlier runs are resolved by reading CRM+ (``recovery``).
2. A bulk ``Query/FullContact`` refresh by ``Last Modified Date`` (keyset-paged by
   ``Contact Id``, 1,000 a page) tells which contacts CRM+ changed since the last run;
   the date filter may be day-granular, so the window overlaps by a day and what the
   mirror already holds at the same ``modifiedDateTimeUtc`` is dropped.
3. The platform is scanned; a record not modified since its last sync is unchanged.
4. Contacts changed on neither side cost no request at all.
5. The guard: the whole run is planned first; if more than a configured share of the
   contacts, or of one field's values, would change, it stops before any write (a bad
   import looks exactly like that) unless ``--force``.
6. Each changed contact is synced on its own (several at once with ``sync.concurrency``,
   each wholly on one thread: ``engine.batch``); one failing contact never stops the
   others (only a refused token, an unusable platform or database does). When the
   hourly request budget is spent, no further contact starts: the rest are *deferred*
   to the next run (``engine.budget``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import structlog

from syncengine.domain.ports import (
    Clock,
    ConflictStatus,
    ConflictStore,
    CrmPort,
    CursorStore,
    Journal,
    LocalPlatform,
    LocalRecord,
    MirrorStore,
    Record,
    SyncStateStore,
    UnchangedRecord,
)
from syncengine.domain.syncplan import GuardVerdict, bulk_guard
from syncengine.domain.timestamps import newer_stamp
from syncengine.engine.batch import RUN_STOPPING_ERRORS, BatchResult, ContactJob, run_batch
from syncengine.engine.budget import CONTACT_REQUESTS, CREATE_REQUESTS, DEFERRED, resets_at
from syncengine.engine.bulk import CursorTracker, pages
from syncengine.engine.claims import ClaimHeld, RunClaims, contact_subject, new_record_subject
from syncengine.engine.creates import ContactCreator
from syncengine.engine.first_links import Agreeing, agrees, link_agreeing
from syncengine.engine.fresh_records import FreshRecords
from syncengine.engine.heap import collecting_the_run_alone
from syncengine.engine.known_contacts import SortedIds, changed_since_synced, platform_stamps
from syncengine.engine.problems import ProblemRecorder, failed_report
from syncengine.engine.recovery import IntentRecovery
from syncengine.engine.scope import Scope, belongs, cursor_name
from syncengine.engine.sync import ContactReport, ContactSync, RunKnowledge
from syncengine.engine.waiting import waiting_contacts
from syncengine.errors import CrmBudgetExhausted, LocalDataError, SyncEngineError

log = structlog.get_logger(__name__)

__all__ = ["RUN_STOPPING_ERRORS", "GuardSettings", "Progress", "RunSummary", "SyncRunner"]

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class GuardSettings:
    max_contact_share: float = 0.5
    max_field_share: float = 0.3
    min_contacts: int = 20


@dataclass
class RunSummary:
    dry_run: bool
    reports: list[ContactReport] = field(default_factory=list)
    unchanged: int = 0
    requests_used: int = 0
    guard: GuardVerdict | None = None
    stopped: str | None = None  # why the run stopped before writing
    recovered: list[str] = field(default_factory=list)
    # What stopped the run part-way (a refused token, a lost database): the contacts
    # before it are reported as done, the rest were not reached.
    aborted: SyncEngineError | None = None
    not_reached: int = 0
    # The request budget ran out: the contacts not done are reported ``deferred``.
    budget_stop: CrmBudgetExhausted | None = None

    def counts(self) -> dict[str, int]:
        counted = Counter(r.outcome for r in self.reports)
        counted["unchanged"] += self.unchanged
        return dict(counted)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reports if r.outcome == "failed")

    @property
    def conflicts(self) -> int:
        return sum(1 for r in self.reports if r.conflicts or r.outcome == "conflict")

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.reports if r.outcome == "skipped")

    @property
    def deferred(self) -> int:
        return sum(1 for r in self.reports if r.outcome == DEFERRED)

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "dry_run": self.dry_run,
            "stopped": self.stopped,
            "summary": {
                "pushed": counts.get("pushed", 0) + counts.get("synced", 0),
                "pulled": counts.get("pulled", 0) + counts.get("synced", 0),
                "created": counts.get("created", 0),
                "linked": counts.get("linked", 0) + counts.get("relinked", 0),
                "unchanged": counts.get("unchanged", 0),
                "conflicts": self.conflicts,
                "failed": self.failed,
                "skipped": self.skipped,
                "deferred": self.deferred,
                "not_reached": self.not_reached,
                "requests_used": self.requests_used,
            },
            "aborted": None
            if self.aborted is None
            else {"error": type(self.aborted).__name__, "message": str(self.aborted)},
            "budget_stop": None
            if self.budget_stop is None
            else {
                "resets_at": resets_at(self.budget_stop).isoformat(),
                "message": str(self.budget_stop),
            },
            "guard": None
            if self.guard is None
            else {
                "stop": self.guard.stop,
                "contacts_changing": self.guard.contacts_changing,
                "contacts_total": self.guard.contacts_total,
                "worst_field": self.guard.worst_field,
                "worst_field_count": self.guard.worst_field_count,
                "reasons": self.guard.reasons,
            },
            "recovered": self.recovered,
            "contacts": [r.to_json() for r in self.reports if r.outcome != "unchanged"],
        }


@dataclass
class _Work:
    """What a run found to do. It holds ids, keys and stamps, not records, so that its
    memory stays small at 100,000 contacts: a contact's records are read again when its
    turn comes (the platform's by ``_claimed_sync``, CRM+'s from ``fresh``)."""

    pulled: CursorTracker
    # id -> the platform record's key; None: not on the platform (a first sync writes it)
    linked: dict[int, str | None] = field(default_factory=dict)
    fresh: FreshRecords = field(default_factory=FreshRecords)  # from the bulk query
    new: list[str] = field(default_factory=list)  # the keys of new platform records
    broken: list[ContactReport] = field(default_factory=list)
    unchanged: int = 0
    known: int = 0
    waiting: set[int] = field(default_factory=set)  # see engine.waiting
    # The guard's plan: the paths each contact would change (only those that change);
    # for a dry run, the planned reports too.
    changing: dict[int, list[str]] = field(default_factory=dict)
    planned: dict[int, ContactReport] = field(default_factory=dict)
    # First syncs that would change nothing: linked in bulk (engine.first_links).
    agreeing: dict[int, Agreeing] = field(default_factory=dict)
    # What the run's bulk reads say about every contact, for the plan (see RunKnowledge).
    knowledge: RunKnowledge = field(default_factory=lambda: RunKnowledge(set(), set()))


def changed_since_sync(modified_at: datetime, synced_at: datetime | None) -> bool:
    """Whether a platform record stamped ``modified_at`` changed since the sync that
    recorded it as ``synced_at`` (None: never synced, or nothing recorded)."""
    return synced_at is None or modified_at > synced_at


class SyncRunner:
    def __init__(
        self,
        crm: CrmPort,
        mirror: MirrorStore,
        platform: LocalPlatform,
        states: SyncStateStore,
        cursors: CursorStore,
        journal: Journal,
        conflicts: ConflictStore,
        contacts: ContactSync,
        creator: ContactCreator,
        recovery: IntentRecovery,
        claims: RunClaims,
        clock: Clock,
        guard: GuardSettings,
        problems: ProblemRecorder,
        *,
        concurrency: int = 1,
        scope: Scope = Scope.LINKED,
    ) -> None:
        self._crm = crm
        self._mirror = mirror
        self._platform = platform
        self._states = states
        self._cursors = cursors
        self._journal = journal
        self._conflicts = conflicts
        self._contacts = contacts
        self._creator = creator
        self._recovery = recovery
        self._claims = claims
        self._clock = clock
        self._guard = guard
        self._problems = problems
        # How many contacts ``run_all`` syncs at once (each wholly on one thread).
        self._concurrency = concurrency
        self._scope = scope
        # Each scope keeps its own pull cursor (see ``scope.cursor_name``).
        self._cursor = cursor_name(scope)

    # -- one contact ------------------------------------------------------------------------

    def run_one(self, contact_id: int, *, dry_run: bool = False) -> RunSummary:
        """Sync one contact, waiting a while for another run that holds it (``ClaimHeld``
        if it does not let go). A dry run claims nothing and stores nothing. A spent
        request budget raises ``CrmBudgetExhausted`` before anything is sent (saying when
        it resets), and records no problem: nothing is wrong with the contact."""
        start = self._crm.requests_made
        summary = RunSummary(dry_run)
        if dry_run:
            summary.reports.append(self._contacts.sync(contact_id, dry_run=True))
        else:
            with (
                self._claims.holding(contact_subject(contact_id)),
                self._crm.admit(CONTACT_REQUESTS),
            ):
                summary.recovered = self._recovery.recover(contact_id=contact_id).resolved
                try:
                    report = self._contacts.sync(contact_id)
                except (*RUN_STOPPING_ERRORS, CrmBudgetExhausted):
                    raise  # about the run (a token, the database, the budget), not the contact
                except SyncEngineError as exc:
                    self._problems.observe(failed_report(contact_id, None, exc))
                    raise
                self._problems.observe(report)
                summary.reports.append(report)
        summary.requests_used = self._crm.requests_made - start
        return summary

    # -- everything -------------------------------------------------------------------------

    def run_all(
        self, *, dry_run: bool = False, force: bool = False, progress: Progress | None = None
    ) -> RunSummary:
        # The run's garbage collections leave out the process's own machinery (engine.heap).
        with collecting_the_run_alone():
            start = self._crm.requests_made
            summary = RunSummary(dry_run)
            if not dry_run:
                summary.recovered = self._recovery.recover().resolved
            try:
                work = self._collect(dry_run=dry_run)
                try:
                    return self._run_collected(work, summary, start, dry_run, force, progress)
                finally:
                    work.fresh.close()
            finally:
                self._contacts.forget_plans()

    def _run_collected(
        self,
        work: _Work,
        summary: RunSummary,
        start: int,
        dry_run: bool,
        force: bool,
        progress: Progress | None,
    ) -> RunSummary:
        summary.unchanged = work.unchanged
        summary.reports += work.broken
        if not dry_run:
            for broken in work.broken:
                self._problems.observe(broken)

        summary.guard = bulk_guard(
            work.changing,
            work.known,
            max_contact_share=self._guard.max_contact_share,
            max_field_share=self._guard.max_field_share,
            min_contacts=self._guard.min_contacts,
        )
        if dry_run:
            planned = [*work.planned.values(), *map(_planned_create, work.new)]
            summary.reports += planned
            summary.unchanged += sum(1 for r in planned if r.outcome == "unchanged")
            summary.reports = [r for r in summary.reports if r.outcome != "unchanged"]
            summary.requests_used = self._crm.requests_made - start
            return summary
        if summary.guard.stop and not force:
            summary.stopped = "; ".join(summary.guard.reasons)
            summary.requests_used = self._crm.requests_made - start
            return summary
        summary.unchanged += self._link_agreeing(work)

        jobs = [
            ContactJob(
                contact_id,
                key,
                partial(
                    self._claimed_sync,
                    contact_id,
                    key is not None,
                    work.fresh,
                    waiting=contact_id in work.waiting,
                    planned_nothing=contact_id not in work.changing,
                ),
                f"contact {contact_id}",
                CONTACT_REQUESTS,
            )
            for contact_id, key in work.linked.items()
        ]
        jobs += [
            ContactJob(
                None,
                key,
                partial(self._claimed_create, key),
                f"new record {key}",
                CREATE_REQUESTS,
            )
            for key in work.new
        ]
        result = run_batch(
            jobs,
            crm=self._crm,
            guarded=lambda job: self._guarded(job.contact_id, job.key, job.work),
            observe=lambda report, job: self._problems.observe(
                report, new_record=job.contact_id is None
            ),
            concurrency=self._concurrency,
            progress=progress,
        )
        summary.reports += result.reports
        summary.aborted = result.aborted
        summary.budget_stop = result.budget_stop
        summary.not_reached = len(result.not_reached)
        unchanged = [r for r in summary.reports if r.outcome == "unchanged"]
        summary.unchanged += len(unchanged)
        summary.reports = [r for r in summary.reports if r.outcome != "unchanged"]
        # The cursor stops short of every CRM-side change that was not synced (failed,
        # held by another run, deferred, not reached), so that the next run sees them again.
        self._cursors.put(work.pulled.held_back(work.pulled.cursor(), _unfinished(result)))
        summary.requests_used = self._crm.requests_made - start
        return summary

    def _claimed_sync(
        self,
        contact_id: int,
        on_platform: bool,
        pulled: FreshRecords,
        *,
        waiting: bool,
        planned_nothing: bool,
    ) -> ContactReport:
        """Sync a contact under its claim, skipping it if another run holds it. What the
        scan and the bulk query saw may be stale by now (another run may have synced the
        contact meanwhile): inside the claim it is read again.

        ``planned_nothing``: the guard's plan found nothing to do. If the bulk query has
        nothing newer either, the sync plans against the mirror first and makes no
        request unless that plan does something (a record looked at once more because
        its time was not settled, or touched without an edit, costs none)."""
        with self._claims.holding_if_free(contact_subject(contact_id)) as blocker:
            if blocker is not None:
                return _skipped(ContactReport(contact_id), blocker.owner)
            local = self._platform.get(contact_id) if on_platform else None
            fresh = pulled.get(contact_id)
            if fresh is not None:
                known = self._mirror.get(contact_id)
                stamp = fresh.get("modifiedDateTimeUtc")
                if known is not None and not newer_stamp(stamp, known.modified_raw):
                    fresh = None  # synced since the bulk query (by us or another run)
            if not waiting and not self._needs_sync(contact_id, local, fresh):
                return ContactReport(contact_id)
            return self._contacts.sync(
                contact_id,
                local=local,
                fresh=fresh,
                refetch_before_push=True,
                crm_unchanged=planned_nothing and fresh is None,
            )

    def _needs_sync(self, contact_id: int, local: LocalRecord | None, fresh: Record | None) -> bool:
        if fresh is not None or local is None:
            return True  # a CRM-side change, or a contact new to the platform
        state = self._states.get(contact_id)
        return changed_since_sync(
            local.modified_at, None if state is None else state.platform_modified
        )

    def _claimed_create(self, key: str) -> ContactReport:
        """Create or link a new platform record under its claim (skipped while another run
        holds it); read inside the claim, since another run may have linked it."""
        with self._claims.holding_if_free(new_record_subject(key)) as blocker:
            if blocker is not None:
                return _skipped(ContactReport(None, key=key), blocker.owner)
            local = self._platform.get_new(key)
            if local is None:
                return ContactReport(None, key=key)  # linked by another run meanwhile
            try:
                return self._creator.create_or_link(local)
            except ClaimHeld as exc:
                # Its email is another run's create for longer than the claims' wait.
                holder = exc.holder.owner if exc.holder is not None else "another run"
                return _skipped(ContactReport(None, key=key), holder)

    def _guarded(
        self,
        contact_id: int | None,
        key: str | None,
        work: Callable[[], ContactReport],
        *,
        planning: bool = False,
    ) -> ContactReport:
        try:
            return work()
        except (*RUN_STOPPING_ERRORS, CrmBudgetExhausted):
            raise
        except SyncEngineError as exc:
            # Planning meets the same failure the run will meet and log: said once.
            (log.debug if planning else log.warning)(
                "sync.contact_failed", contact_id=contact_id, key=key, error=str(exc)
            )
            return failed_report(contact_id, key, exc)

    # -- the bulk refresh, the scan and the guard's plan ----------------------------------

    def _refresh(self, work: _Work) -> None:
        """Every contact CRM+ modified since the cursor (all of them the first time), a
        page at a time: each page moves the cursor, and its records the mirror does not
        already hold at the same ``modifiedDateTimeUtc`` (the overlapping day of the
        window, or our own write echoing back) go to ``work.fresh``. No page is kept, nor
        any stamp but the page's (read for its ids alone)."""
        for page in pages(self._crm, work.pulled.since):
            work.pulled.see(page)
            stamps = self._mirror.stamps_of([int(record["id"]) for record in page])
            work.fresh.add(
                record
                for record in page
                if stamps.get(int(record["id"]), _UNMIRRORED) != record.get("modifiedDateTimeUtc")
            )

    def _collect(self, *, dry_run: bool) -> _Work:
        """The refresh, the scan, and the plan of every contact either side changed (the
        guard must weigh the whole run before its first write). Each contact is planned
        as the scan meets it, while its platform record is at hand; what is kept of the
        plan is the paths that would change (and, for a dry run, the reports).

        Of every contact, the run holds its id in two sorted arrays (the mirrored ones,
        and those with a sync state with its ``platform_modified``) and a mark on each
        for "on the platform" (``engine.known_contacts``): its memory stays flat in the
        number of contacts where nothing changed."""
        work = _Work(CursorTracker(self._cursors.get(self._cursor), self._cursor))
        # Two streamed reads for the whole run, not two per contact (one transaction per
        # contact was 73 % of a no-change run), kept as arrays, not dicts.
        mirrored = SortedIds.of(self._mirror.stream_ids())
        states = platform_stamps(self._states.stream_platform_stamps())
        self._refresh(work)
        on_platform = _OnPlatform(mirrored, states)
        work.waiting = waiting_contacts(self._journal, self._conflicts)
        work.knowledge = RunKnowledge(
            mirrored=mirrored,
            busy=work.waiting
            | self._conflicts.contacts_with(ConflictStatus.OPEN)
            | {write.contact_id for write in self._journal.platform_writes()},
            last_applied=self._journal.last_applied(),
        )
        # A contact with an open problem goes the long way: its sync resolves it.
        troubled = set() if dry_run else self._problems.open_contacts()

        def unchanged(contact_id: int, modified_at: datetime) -> bool:
            """Nothing to plan: not changed here since its last sync, nor in CRM+, nor
            waiting. The scan then reads its status, not its document."""
            return not (
                changed_since_synced(states, contact_id, modified_at)
                or contact_id in work.fresh
                or contact_id in work.waiting
            )

        for item in self._platform.scan_changed(unchanged):
            if isinstance(item, LocalDataError):
                work.broken.append(failed_report(None, item.where, item))
                continue
            if item.contact_id is None:
                work.new.append(item.key)
                continue
            on_platform.add(item.contact_id)
            if isinstance(item, UnchangedRecord) or unchanged(item.contact_id, item.modified_at):
                work.unchanged += 1
            else:
                report = self._plan(work, item.contact_id, item, dry_run=dry_run)
                first = item.contact_id not in mirrored and item.contact_id not in states
                if (
                    first
                    and not dry_run
                    and agrees(report)
                    and item.contact_id not in work.waiting
                    and item.contact_id not in troubled
                    and item.contact_id in work.fresh
                    and not work.fresh.survivor(item.contact_id)
                ):
                    work.agreeing[item.contact_id] = Agreeing(
                        item.key, item.modified_at if item.settled else None
                    )
                    work.linked.pop(item.contact_id, None)
                else:
                    work.linked[item.contact_id] = item.key
                    work.agreeing.pop(item.contact_id, None)
        for contact_id in mirrored.unmarked():  # mirrored, not on the platform: ascending
            if contact_id in states:
                # Synced before and gone from the platform now: the platform removed it.
                # Writing it back would undo that; it is left alone.
                continue
            work.linked[contact_id] = None  # a first sync writes it to the platform
            self._plan(work, contact_id, None, dry_run=dry_run)
        if self._scope is Scope.ALL:
            # A survivor of a contact the platform holds arrives by that record's relink.
            relinked = {
                survivor
                for contact_id in work.fresh
                if (survivor := work.fresh.survivor(contact_id)) and contact_id in on_platform
            }
            for contact_id in work.fresh:
                if (
                    contact_id not in work.linked
                    and belongs(
                        self._scope,
                        on_platform=contact_id in on_platform,
                        synced_before=contact_id in states or contact_id in mirrored,
                    )
                    and not work.fresh.survivor(contact_id)
                    and contact_id not in relinked
                ):
                    # New in CRM+ (a merged-away one's survivor is what belongs): a first
                    # sync writes it to the platform.
                    work.linked[contact_id] = None
                    self._plan(work, contact_id, None, dry_run=dry_run)
        work.known = len(mirrored) + on_platform.unmirrored + len(work.new)
        return work

    def _plan(
        self, work: _Work, contact_id: int, local: LocalRecord | None, *, dry_run: bool
    ) -> ContactReport:
        """What syncing the contact would change, without one request: the CRM side is the
        bulk query's record where CRM+ changed, the mirror's otherwise."""
        entry = self._mirror.get(contact_id) if contact_id in work.knowledge.mirrored else None
        crm = work.fresh.get(contact_id)
        if crm is None and entry is not None:
            crm = entry.record
        if crm is None:
            report = ContactReport(contact_id, outcome="unknown")
        else:
            report = self._guarded(
                contact_id,
                local.key if local is not None else None,
                partial(
                    self._contacts.sync,
                    contact_id,
                    dry_run=True,
                    local=local,
                    fresh=crm,
                    known=work.knowledge,
                    mirror_entry=entry,
                ),
                planning=True,
            )
        paths = [change.path for change in report.changes]
        if paths:
            work.changing[contact_id] = paths
        else:
            work.changing.pop(contact_id, None)  # planned again (a second record of it)
        if dry_run:
            work.planned[contact_id] = report
        return report

    def _link_agreeing(self, work: _Work) -> int:
        """The first syncs that change nothing, done in bulk (``engine.first_links``)."""
        return link_agreeing(work.agreeing, work.fresh, self._mirror, self._states, self._clock)


# A mirrored stamp no bulk record carries: a contact the mirror lacks is always fresh.
_UNMIRRORED = object()


class _OnPlatform:
    """The contacts the scan met on the platform: a mark in the mirrored ids' array or
    the sync states' (``engine.known_contacts``), and a set of the few in neither (new
    to this database: a first sync's)."""

    def __init__(self, mirrored: SortedIds, states: SortedIds) -> None:
        self._mirrored = mirrored
        self._states = states
        self._unknown: set[int] = set()
        self._stated = 0  # marked in the states' array alone

    def add(self, contact_id: int) -> None:
        if self._mirrored.mark(contact_id) is not None:
            return  # the states' array is asked only of contacts the mirror lacks
        newly = self._states.mark(contact_id)
        if newly is None:
            self._unknown.add(contact_id)
        elif newly:
            self._stated += 1

    def __contains__(self, contact_id: int) -> bool:
        if contact_id in self._mirrored:
            return self._mirrored.marked(contact_id)
        return self._states.marked(contact_id) or contact_id in self._unknown

    @property
    def unmirrored(self) -> int:
        """How many of them the mirror lacks."""
        return self._stated + len(self._unknown)


def _planned_create(key: str) -> ContactReport:
    report = ContactReport(None, key=key, outcome="created", dry_run=True)
    report.notes.append("new platform record: found or created in CRM+")
    return report


def _skipped(report: ContactReport, holder: str) -> ContactReport:
    report.outcome = "skipped"
    report.notes.append(f"another run is working on it ({holder}): left to that run")
    return report


def _unfinished(result: BatchResult) -> set[int]:
    """The contacts whose CRM-side changes this run did not sync."""
    left = {r.contact_id for r in result.reports if r.outcome in ("failed", "skipped", DEFERRED)}
    left |= {job.contact_id for job in result.not_reached}
    return {c for c in left if c is not None}
