"""The daemon's workers: they drain the work queue, one contact at a time, under claims.

Producers (the push, pull and reconcile jobs, webhooks, ``syncengine enqueue``) put
contacts in the queue; any number of workers, in any number of processes on the
database, take them:

- the most urgent due items first (a platform change or a webhook before a pull, a pull
  before a reconciliation); when the request budget runs low the caller may ask for
  pushes only;
- each contact under its claim: one another worker holds is left for that worker;
- inside the claim the contact is read again and synced with ``ContactSync`` (open
  intents of an earlier crash first); the item is removed only if nobody added it again
  meanwhile, so a change that arrived during the sync is synced too;
- a failure that concerns the contact puts the item back with a backoff (30 s, doubling,
  at most an hour), its error (for ``status``) and its time (the push job retries at
  once a contact whose record changed after it); it never blocks the other contacts.
  A failure no other contact could survive (a refused token, a lost database) stops the
  worker and reaches the caller;
- each contact is let in by the request budget first (``CrmPort.admit``). When the
  budget is spent until a reset beyond the max wait, the item is put back due at the
  reset, with no failed attempt counted (nothing is wrong with the contact), and the
  worker stops taking items: ``resting_until`` says until when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

import structlog

from syncengine.domain.ports import (
    Clock,
    CrmPort,
    LocalPlatform,
    MirrorStore,
    SyncStateStore,
    WorkItem,
    WorkQueue,
)
from syncengine.domain.timestamps import newer_stamp
from syncengine.engine.budget import CONTACT_REQUESTS, deferred_report, resets_at
from syncengine.engine.claims import RunClaims, contact_subject
from syncengine.engine.problems import ProblemRecorder, failed_report
from syncengine.engine.recovery import IntentRecovery
from syncengine.engine.run_all import RUN_STOPPING_ERRORS
from syncengine.engine.scope import Scope, belongs
from syncengine.engine.sync import ContactReport, ContactSync
from syncengine.errors import CrmBudgetExhausted, SyncEngineError

log = structlog.get_logger(__name__)


# Queue reasons that say CRM+ changed the contact without bringing its record.
_AFTER_THE_RECORD = frozenset({"webhook", "enqueue"})


@dataclass(frozen=True)
class Backoff:
    """How long a failing contact waits before its next attempt."""

    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)

    def after(self, attempts: int) -> timedelta:
        """The pause after ``attempts`` failed attempts (1 or more)."""
        wait = self.first * (self.factor ** max(attempts - 1, 0))
        return min(wait, self.cap)


class _Gone(Enum):
    """A picked item that another worker synced before this one got its claim."""

    GONE = "gone"


_GONE: Final = _Gone.GONE


class QueueWorker:
    def __init__(
        self,
        queue: WorkQueue,
        contacts: ContactSync,
        recovery: IntentRecovery,
        platform: LocalPlatform,
        states: SyncStateStore,
        mirror: MirrorStore,
        claims: RunClaims,
        clock: Clock,
        problems: ProblemRecorder,
        crm: CrmPort,
        *,
        scope: Scope = Scope.LINKED,
        backoff: Backoff | None = None,
        batch: int = 50,
    ) -> None:
        self._queue = queue
        self._contacts = contacts
        self._recovery = recovery
        self._platform = platform
        self._states = states
        self._mirror = mirror
        self._claims = claims
        self._clock = clock
        self._problems = problems
        self._crm = crm
        self._scope = scope
        # When the request budget comes back, after a contact was deferred for it.
        self.resting_until: datetime | None = None
        self._backoff = backoff or Backoff()
        self._batch = batch

    def work(
        self,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        max_priority: int | None = None,
        limit: int | None = None,
    ) -> list[ContactReport]:
        """Sync due contacts until none is left that this worker may take, ``limit`` are
        done, or ``should_stop`` says so (checked between contacts: the one in flight is
        always finished)."""
        reports: list[ContactReport] = []
        if self.resting_until is not None and self.resting_until > self._clock.now():
            return reports  # nothing could be let in before the budget's reset
        self.resting_until = None
        while not should_stop() and (limit is None or len(reports) < limit):
            items = self._queue.due(
                now=self._clock.now(), limit=self._batch, max_priority=max_priority
            )
            moved = False
            for item in items:
                if should_stop() or (limit is not None and len(reports) >= limit):
                    break
                report = self._one(item)
                if report is _GONE:
                    moved = True  # another worker got there first: the queue moved on
                elif report is not None:
                    reports.append(report)
                    moved = True
                if self.resting_until is not None:
                    return reports  # the budget is spent: every other item would wait too
            if not moved:
                break  # nothing due, or everything due is another worker's right now
        return reports

    def _one(self, item: WorkItem) -> ContactReport | _Gone | None:
        """Sync one queued contact; None when another worker holds it, ``_GONE`` when it
        was synced meanwhile."""
        contact_id = item.contact_id
        with self._claims.holding_if_free(contact_subject(contact_id)) as blocker:
            if blocker is not None:
                return None
            # The batch was read before this claim: another worker may have synced the
            # contact since (the item is gone, or due later after a failure). Only the
            # item as it is now counts.
            current = self._queue.get(contact_id)
            if current is None or current.due_at > self._clock.now():
                return _GONE
            item = current
            try:
                with self._crm.admit(CONTACT_REQUESTS):
                    report = self._sync(item)
            except CrmBudgetExhausted as exc:
                return self._defer(item, exc)
            except RUN_STOPPING_ERRORS:
                raise
            except SyncEngineError as exc:
                report = failed_report(contact_id, None, exc)
            self._problems.observe(report)
            if report.outcome == "failed":
                # The time of the failure, not of the attempt's start: a platform write the
                # attempt made itself then counts as before the failure, and never looks
                # like a fix to the push job (which retries a record changed after it).
                failed_at = self._clock.now()
                retry_at = failed_at + self._backoff.after(item.attempts + 1)
                self._queue.failed(
                    contact_id,
                    item.generation,
                    error=report.error or "failed",
                    retry_at=retry_at,
                    failed_at=failed_at,
                )
                log.warning(
                    "work.contact_failed",
                    contact_id=contact_id,
                    attempts=item.attempts + 1,
                    retry_at=retry_at.isoformat(),
                    error=report.error,
                )
            else:
                self._queue.done(contact_id, item.generation)
                log.info(
                    "work.contact_synced",
                    contact_id=contact_id,
                    outcome=report.outcome,
                    reason=item.reason,
                    worker=self._claims.owner,
                )
            return report

    def _defer(self, item: WorkItem, exc: CrmBudgetExhausted) -> ContactReport:
        """Back in the queue, due when the budget resets; not a failed attempt."""
        until = resets_at(exc)
        self._queue.defer(item.contact_id, item.generation, until=until)
        self.resting_until = until
        log.info(
            "work.contact_deferred",
            contact_id=item.contact_id,
            until=until.isoformat(),
            error=str(exc),
        )
        return deferred_report(item.contact_id, None, exc)

    def _sync(self, item: WorkItem) -> ContactReport:
        contact_id = item.contact_id
        local = self._platform.get(contact_id)
        synced_before = self._states.get(contact_id) is not None
        if not belongs(self._scope, on_platform=local is not None, synced_before=synced_before):
            report = ContactReport(contact_id)
            report.notes.append(f"not on the platform and outside local.scope {self._scope}")
            return report
        # A webhook or an enqueue that came after the pull read the record says CRM+ may
        # have changed the contact since: it is read afresh, never synced from the older
        # record (the item's reason is its latest one).
        fresh = (
            item.fresh
            if item.reason not in _AFTER_THE_RECORD and self._still_new(contact_id, item.fresh)
            else None
        )
        self._recovery.recover(contact_id=contact_id)
        return self._contacts.sync(
            contact_id,
            local=local,
            fresh=fresh,
            refetch_before_push=fresh is not None,
            # Queued for a platform change only: the pull job and the webhooks queue what
            # CRM+ changed, so the contact is planned against the mirror first, and read
            # from CRM+ only if that plan does something (see ``ContactSync.sync``).
            crm_unchanged=item.reason == "platform" and item.fresh is None,
        )

    def _still_new(self, contact_id: int, fresh: object) -> bool:
        """Whether the record a pull saw is newer than the base. If not, it was synced
        since (or the query ran before our own write): the contact is read afresh, never
        taken back in time to what the query saw."""
        if not isinstance(fresh, dict):
            return False
        entry = self._mirror.get(contact_id)
        if entry is None:
            return True
        return newer_stamp(fresh.get("modifiedDateTimeUtc"), entry.modified_raw)
