"""Crash recovery: before a sync, every write left open by an earlier run is resolved by
reading CRM+ (never by guessing, never by repeating it blindly).

- an interrupted create (``POST``, journaled with the platform key): looked up by our
  reference; found -> the platform record is linked to it and the row closed ``ok``;
  not found -> closed ``failed`` (it never reached CRM+), so the next sync creates it;
- an interrupted PUT: the record is read; if it shows every value the write meant, the
  row is closed ``ok``; otherwise ``failed`` (the next sync merges again from the fresh
  state and re-sends what is still missing).

The mirror is deliberately NOT refreshed from what recovery reads: CRM+ may have been
edited since the crash, and a base holding those edits would make the platform's older
values look like platform changes, pushed over them. Left at the last agreed state, the
next merge sees our applied write on both sides (agreed) and later CRM edits as CRM
changes; a recovered create is merged as a first sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from syncengine.domain.paths import parse_path
from syncengine.domain.plan import ResolvedChange, addresses_view, verify_changes
from syncengine.domain.ports import (
    CrmPort,
    Journal,
    JournalEntry,
    LocalPlatform,
    Outcome,
)
from syncengine.engine.claims import RunClaims, contact_subject, new_record_subject
from syncengine.engine.creates import CREATE_ENDPOINT
from syncengine.engine.push import SafeUpdater
from syncengine.errors import CrmNotFound, LocalConflictError, PathError

log = structlog.get_logger(__name__)


@dataclass
class RecoveryReport:
    resolved: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        log.info("recovery", action=text)
        self.resolved.append(text)


class IntentRecovery:
    def __init__(
        self,
        crm: CrmPort,
        journal: Journal,
        platform: LocalPlatform,
        updater: SafeUpdater,
        claims: RunClaims,
        reference_source: str,
    ) -> None:
        self._crm = crm
        self._journal = journal
        self._platform = platform
        self._updater = updater
        self._claims = claims
        self._source = reference_source

    def recover(self, *, contact_id: int | None = None) -> RecoveryReport:
        """Resolve the open intents (of one contact, or all).

        An intent is only "open" if nobody is working on it: another run's write in
        flight is journaled PENDING too. So each is resolved under its subject's claim,
        and skipped when another run holds that claim (it is that run's to close, or,
        if the run died, a later one's once the claim expires).
        """
        report = RecoveryReport()
        for entry in self._journal.unresolved():
            if contact_id is not None and entry.contact_id != contact_id:
                continue
            if entry.id is None:
                continue
            creating = entry.method == "POST" and entry.endpoint == CREATE_ENDPOINT
            if creating and entry.local_key:
                subject = new_record_subject(entry.local_key)
            elif entry.contact_id is not None:
                subject = contact_subject(entry.contact_id)
            else:
                continue
            with self._claims.holding_if_free(subject) as blocker:
                if blocker is not None:
                    log.info("recovery.skipped", subject=subject, holder=blocker.owner)
                    continue
                settled = self._journal.get(entry.id)
                if settled is None or settled.outcome not in (Outcome.PENDING, Outcome.UNKNOWN):
                    continue  # closed by its own run between our listing and our claim
                if creating:
                    self._create(entry, report)
                else:
                    self._put(entry, report)
        return report

    def _create(self, entry: JournalEntry, report: RecoveryReport) -> None:
        assert entry.id is not None
        key = entry.local_key
        found = self._crm.find_contact_by_reference(self._source, key) if key else None
        if found is None:
            self._journal.close(
                entry.id, Outcome.FAILED, note="interrupted create not found in CRM+: not applied"
            )
            report.note(f"create of platform record {key}: never reached CRM+")
            return
        contact_id = int(found["id"])
        try:
            self._platform.link(str(key), contact_id)
        except LocalConflictError as exc:
            report.note(f"create of platform record {key}: found as {contact_id}; {exc}")
        self._journal.close(
            entry.id,
            Outcome.OK,
            response_after={"contactId": contact_id},
            note="interrupted create found by reference afterwards",
            contact_id=contact_id,
        )
        report.note(f"create of platform record {key}: found as contact {contact_id}, linked")

    def _put(self, entry: JournalEntry, report: RecoveryReport) -> None:
        assert entry.id is not None and entry.contact_id is not None
        if not entry.fields or any(f.startswith("(") for f in entry.fields):
            return
        if entry.fields == ["isArchived"]:
            self._lifecycle(entry, report)
            return
        try:
            record = self._crm.get_contact(entry.contact_id)
            view = record
            if any(f.startswith("addresses[") for f in entry.fields):
                view = addresses_view(record, self._crm.list_addresses(entry.contact_id))
            changes = [
                ResolvedChange(parse_path(path), entry.after.get(path), entry.before.get(path))
                for path in entry.fields
            ]
        except (CrmNotFound, PathError) as exc:
            self._journal.close(entry.id, Outcome.FAILED, note=f"could not be checked: {exc}")
            report.note(f"{entry.method} {entry.endpoint}: could not be checked ({exc})")
            return
        mismatches, _ = verify_changes(changes, view)
        if mismatches:
            self._journal.close(
                entry.id, Outcome.FAILED, note="interrupted write not found in CRM+: not applied"
            )
            report.note(f"{entry.method} {entry.endpoint}: had not been applied")
            return
        self._journal.close(entry.id, Outcome.OK, note="interrupted write confirmed by a GET")
        report.note(f"{entry.method} {entry.endpoint}: had been applied")

    def _lifecycle(self, entry: JournalEntry, report: RecoveryReport) -> None:
        assert entry.id is not None and entry.contact_id is not None
        meant = bool(entry.after.get("isArchived"))
        applied = self._updater.is_archived(entry.contact_id) == meant
        self._journal.close(
            entry.id,
            Outcome.OK if applied else Outcome.FAILED,
            note="interrupted archive change " + ("confirmed" if applied else "not applied"),
        )
        report.note(
            f"{entry.method} {entry.endpoint}: {'had' if applied else 'had not'} been applied"
        )
