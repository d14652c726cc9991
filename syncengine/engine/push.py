"""The safe update of one contact: GET, apply, PUT the complete record, verify, mirror.

This is the executor around the pure planner (``syncengine.domain.plan``). It is the
only place where the safe-update pattern touches the outside world, and it does so only
through the ports (``CrmPort``, ``MirrorStore``, ``Journal``, ``Clock``).

Per write (see docs/safe-update.md for the full algorithm):

1. GET the fresh target (never the mirror: it may be stale);
2. build the complete body with the change applied in place;
3. journal the intent (PENDING) BEFORE the PUT, so a crash leaves a trace;
4. PUT; a lost response is resolved by reading the record back, never by guessing;
5. verify the response shows each change (server normalisation accepted, recorded);
   high-stakes fields are confirmed by a follow-up GET;
6. close the journal row, flagging a possible concurrent write when the record moved
   in a way our own write does not explain;
7. report the contact as our write left it (``PushReport.record_after``: what the
   server stored, not what we sent).

The updater never writes the mirror. The mirror is the two-way sync's merge base, the
last state BOTH sides agreed on, and only the sync knows whether the platform holds what
was written (``syncengine.engine.sync`` stores ``record_after`` there; a ``push`` from
the command line does not, see ``syncengine.engine.manual``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncengine.domain import plan as p
from syncengine.domain.paths import REMOVE, Path, apply_change, get_value, item_segment
from syncengine.domain.ports import (
    Clock,
    CrmPort,
    Journal,
    JournalEntry,
    Outcome,
    Record,
)
from syncengine.domain.timestamps import crm_timestamp_sort_key
from syncengine.errors import (
    CrmError,
    CrmNotFound,
    CrmTransientError,
    Mismatch,
    PathError,
    VerificationError,
)

ARCHIVE_FIELD = "isArchived"


@dataclass
class FieldReport:
    path: str
    old: Any
    new: Any
    stored: Any = None
    reason: str = p.REQUESTED
    normalised: bool = False


@dataclass
class WriteReport:
    route: str
    method: str
    endpoint: str
    fields: list[FieldReport]
    outcome: Outcome
    journal_id: int | None = None
    verified_by_get: bool = False
    concurrent_write_suspected: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class PushReport:
    contact_id: int
    dry_run: bool
    writes: list[WriteReport] = field(default_factory=list)
    requests_used: int = 0
    notes: list[str] = field(default_factory=list)
    # The contact as CRM+ holds it after our writes (the responses spliced together), for
    # the caller's merge base; None when nothing was written.
    record_after: Record | None = None

    @property
    def changed(self) -> bool:
        return any(w.outcome is Outcome.OK for w in self.writes)

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "dry_run": self.dry_run,
            "requests_used": self.requests_used,
            "notes": self.notes,
            "writes": [
                {
                    "route": w.route,
                    "method": w.method,
                    "endpoint": w.endpoint,
                    "outcome": w.outcome.value,
                    "journal_id": w.journal_id,
                    "verified_by_get": w.verified_by_get,
                    "concurrent_write_suspected": w.concurrent_write_suspected,
                    "notes": w.notes,
                    "fields": [
                        {
                            "path": f.path,
                            "old": jsonable(f.old),
                            "new": jsonable(f.new),
                            "stored": jsonable(f.stored),
                            "reason": f.reason,
                            "normalised": f.normalised,
                        }
                        for f in w.fields
                    ],
                }
                for w in self.writes
            ],
        }


def jsonable(value: Any) -> Any:
    """REMOVE is not JSON: journal and reports show a removal as ``{"$removed": true}``."""
    return {"$removed": True} if value is REMOVE else value


class SafeUpdater:
    """Applies change sets to single contacts with the safe full-record pattern."""

    def __init__(
        self,
        crm: CrmPort,
        journal: Journal,
        clock: Clock,
        rules: p.UpdateRules,
        fence: WriteFence | None = None,
    ) -> None:
        self._crm = crm
        self._journal = journal
        self._fence: WriteFence = fence if fence is not None else NO_FENCE
        self._clock = clock
        self._rules = rules

    # -- field changes ------------------------------------------------------------------

    def push(
        self,
        contact_id: int,
        changes: Sequence[p.Change],
        *,
        dry_run: bool = False,
        fresh: Record | None = None,
        outside: bool = False,
    ) -> PushReport:
        """Apply ``changes`` to one contact. ``fresh``: a Contact the caller GOT moments ago
        (the sync has just read it to merge), saving a second GET; never the mirror.
        ``outside``: a write made outside the two-way sync (``push``): journaled as such,
        so that the contact's next sync carries the values to the platform."""
        start = self._crm.requests_made
        report = PushReport(contact_id, dry_run)
        contact = fresh if fresh is not None else self.fetch_contact(contact_id)
        addresses = self._crm.list_addresses(contact_id) if p.needs_address_list(changes) else None
        resolved = p.resolve_changes(contact, changes, self._rules, addresses)
        groups = p.group_writes(contact_id, contact, resolved)
        for group in groups:
            if dry_run:
                report.writes.append(self._plan_only(group, contact, addresses))
                continue
            write, contact = self._write(contact_id, contact, addresses, group, outside=outside)
            report.writes.append(write)
            # Later groups (non-primary addresses) splice into the newest contact state.
            report.record_after = contact
        if not groups:
            report.notes.append("nothing to change: the record already holds these values")
        report.requests_used = self._crm.requests_made - start
        return report

    def fetch_contact(self, contact_id: int) -> Record:
        """GET the contact; a merged-away one is a CrmNotFound naming the survivor."""
        contact = self._crm.get_contact(contact_id)
        survivor = merged_into(contact)
        if survivor is not None and survivor != contact_id:  # into itself: no merge at all
            raise CrmNotFound(
                "this contact was merged away in CRM+",
                merged_into=survivor,
                method="GET",
                url_path=f"/api/Contact/{contact_id}",
            )
        return contact

    def _fetch_target(self, group: p.WriteGroup) -> Record:
        """GET the record the PUT replaces, as CRM+ holds it now."""
        if group.route is p.Route.INDIVIDUAL:
            return self._crm.get_individual(group.target_id)
        if group.route is p.Route.ADDRESS:
            return self._crm.get_address(group.target_id)
        return self._crm.get_contact(group.target_id)

    def _target_from(
        self, group: p.WriteGroup, contact: Record, addresses: Sequence[Record] | None
    ) -> Record:
        """The target as the contact GET (or the address list) read just now shows it.

        The contact's ``address`` is the ContactAddress shape and its
        ``contactIndividuals`` the ContactIndividual shape, whole (crmplus-api.md, and the
        recorded fixtures: the same keys as the standalone GETs): read moments ago, they
        are as current as a second GET would be, which would only spend a request."""
        if group.route is p.Route.CONTACT:
            return contact
        view = p.addresses_view(contact, addresses)
        head = group.changes[0].path.segments[:1]
        return dict(get_value(view, Path(head)))

    def _plan_only(
        self, group: p.WriteGroup, contact: Record, addresses: Sequence[Record] | None
    ) -> WriteReport:
        p.build_body(group, self._target_from(group, contact, addresses))  # refuses bad plans
        return WriteReport(
            route=group.route.value,
            method="PUT",
            endpoint=group.endpoint,
            fields=_field_reports(group),
            outcome=Outcome.DRY_RUN,
            notes=["dry run: nothing was sent"],
        )

    def _write(
        self,
        contact_id: int,
        contact: Record,
        addresses: Sequence[Record] | None,
        group: p.WriteGroup,
        *,
        outside: bool,
    ) -> tuple[WriteReport, Record]:
        """One PUT; returns its report and the contact as CRM+ now holds it."""
        # The contact (and the address list) were GOT just now: the target is taken from
        # them, so a pushed contact costs its GET and its PUT, whatever the route.
        target = self._target_from(group, contact, addresses)
        body = p.build_body(group, target)
        # Last moment to find out that our claim on the contact has lapsed (a long pause):
        # another run may own it now, and two writers must never interleave.
        self._fence.check(contact_id)
        report = WriteReport(
            route=group.route.value,
            method="PUT",
            endpoint=group.endpoint,
            fields=_field_reports(group),
            outcome=Outcome.PENDING,
        )
        report.journal_id = self._journal.open(
            JournalEntry(
                contact_id=contact_id,
                method="PUT",
                endpoint=group.endpoint,
                fields=[c.text for c in group.changes],
                before={c.text: jsonable(c.old) for c in group.changes},
                after={c.text: jsonable(c.value) for c in group.changes},
                started_at=self._clock.now(),
                outside=outside,
            )
        )
        response, read_back = self._put_resolving_unknown(group, body, report)
        view = p.wrap(group, response)
        mismatches, normalised = p.verify_changes(group.changes, view)
        _record_stored(report, group, view, normalised)
        # Signs of someone else's write; kept apart from the other notes, which are not.
        suspicions = p.concurrency_signs(group, body, response, target)
        # ``record_after`` becomes the merge base of the next sync: it takes our write's
        # answer, never a later read that may hold someone else's edit (the platform has
        # not seen that edit; in the base it would make the platform's value look like a
        # platform change and be pushed over it). A read-back showing another writer is
        # such a later read: what we sent stands in for the lost answer then.
        answer = body if read_back and suspicions else response
        record_after = self._splice(contact, group, answer)

        if p.touches_high_stakes(group.changes, self._rules.high_stakes_fields):
            fresh = self._crm.get_contact(contact_id)
            report.verified_by_get = True
            fresh_view = (
                p.addresses_view(fresh, self._crm.list_addresses(contact_id))
                if (group.changes[0].path.segments[0].name == "addresses")
                else fresh
            )
            later, _ = p.verify_changes(group.changes, fresh_view)
            mismatches += [m for m in later if m not in mismatches]
            if _moved_after(response if group.route is p.Route.CONTACT else None, fresh):
                suspicions.append(
                    "the follow-up GET shows a newer modifiedDateTimeUtc than our write: "
                    "someone else wrote this contact in between"
                )

        report.notes += suspicions
        report.concurrent_write_suspected = bool(suspicions)
        if mismatches:
            report.outcome = Outcome.MISMATCH
            self._close(report, error=str(VerificationError(contact_id, mismatches, "CRM+ record")))
            raise VerificationError(
                contact_id, mismatches, "CRM+ record after the write", record_after=record_after
            )
        report.outcome = Outcome.OK
        self._close(report)
        return report, record_after

    def _put_resolving_unknown(
        self, group: p.WriteGroup, body: Record, report: WriteReport
    ) -> tuple[Record, bool]:
        """PUT; if no answer came back, read the record to learn whether it was applied.
        Returns the record and whether it came from that read-back.

        A full-record PUT is idempotent, so the client already retried it; when even the
        retries got no answer, the state is unknown until we look.
        """
        try:
            return self._put(group, body), False
        except CrmTransientError as exc:
            if not exc.maybe_applied:
                # Surely not applied (a 429, the budget refused it before sending, no
                # connection): a failed write, not an unknown one to read back.
                report.outcome = Outcome.FAILED
                self._close(report, error=str(exc))
                raise
            try:
                current = self._fetch_target(group)
            except CrmError:
                report.outcome = Outcome.UNKNOWN
                self._close(report, error=str(exc))
                raise exc from None
            mismatches, _ = p.verify_changes(group.changes, p.wrap(group, current))
            if mismatches:
                report.outcome = Outcome.FAILED
                self._close(report, error=f"{exc}; a read-back shows the change was not applied")
                raise
            report.notes.append("no response to the PUT; a read-back shows it was applied")
            return current, True
        except CrmError as exc:
            report.outcome = Outcome.FAILED
            self._close(report, error=str(exc))
            raise

    def _put(self, group: p.WriteGroup, body: Record) -> Record:
        if group.route is p.Route.INDIVIDUAL:
            return self._crm.put_individual(group.target_id, body)
        if group.route is p.Route.ADDRESS:
            return self._crm.put_address(group.target_id, body)
        return self._crm.put_contact(group.target_id, body)

    def _splice(self, contact: Record, group: p.WriteGroup, response: Record) -> Record:
        """The contact as CRM+ now holds it: a narrow route's response put in place."""
        if group.route is p.Route.CONTACT:
            return response
        head = group.changes[0].path.segments[0]
        if head.name == "addresses":
            return contact  # non-primary addresses are not part of the mirrored Contact
        if head.name == "address":
            return apply_change(contact, "address", response)
        return apply_change(
            contact, Path((item_segment("contactIndividuals", response),)), response
        )

    def _close(self, report: WriteReport, *, error: str | None = None) -> None:
        if report.journal_id is None:
            return
        self._journal.close(
            report.journal_id,
            report.outcome,
            response_after={f.path: jsonable(f.stored) for f in report.fields},
            error=error,
            note="; ".join(report.notes) or None,
            concurrent_write_suspected=report.concurrent_write_suspected,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def set_archived(
        self, contact_id: int, archived: bool, *, dry_run: bool = False, outside: bool = False
    ) -> PushReport:
        """Archive or unarchive through the dedicated endpoints (never a PUT field).
        ``outside``: as for ``push``."""
        start = self._crm.requests_made
        report = PushReport(contact_id, dry_run)
        self.fetch_contact(contact_id)  # a merged-away contact is refused, named
        currently = self.is_archived(contact_id)
        verb = "Archive" if archived else "Unarchive"
        endpoint = f"/api/Contact/{verb}/{contact_id}"
        write = WriteReport(
            route="lifecycle",
            method="PUT",
            endpoint=endpoint,
            fields=[FieldReport(ARCHIVE_FIELD, currently, archived)],
            outcome=Outcome.DRY_RUN if dry_run else Outcome.PENDING,
        )
        if currently == archived:
            report.notes.append(f"contact {contact_id} is already {verb.lower()}d: nothing to do")
            report.requests_used = self._crm.requests_made - start
            return report
        report.writes.append(write)
        if dry_run:
            write.notes.append("dry run: nothing was sent")
            report.requests_used = self._crm.requests_made - start
            return report
        write.journal_id = self._journal.open(
            JournalEntry(
                contact_id=contact_id,
                method="PUT",
                endpoint=endpoint,
                fields=[ARCHIVE_FIELD],
                before={ARCHIVE_FIELD: currently},
                after={ARCHIVE_FIELD: archived},
                started_at=self._clock.now(),
                outside=outside,
            )
        )
        self._fence.check(contact_id)
        try:
            if archived:
                self._crm.archive_contact(contact_id)
            else:
                self._crm.unarchive_contact(contact_id)
        except CrmError as exc:
            write.outcome = (
                Outcome.UNKNOWN if isinstance(exc, CrmTransientError) else Outcome.FAILED
            )
            self._close(write, error=str(exc))
            raise
        stored = archived
        if ARCHIVE_FIELD in self._rules.high_stakes_fields:
            stored = self.is_archived(contact_id)
            write.verified_by_get = True
        write.fields[0].stored = stored
        if stored != archived:
            write.outcome = Outcome.MISMATCH
            mismatch = Mismatch(ARCHIVE_FIELD, archived, stored)
            self._close(write, error="archive state did not change")
            raise VerificationError(contact_id, [mismatch], "archive state")
        write.outcome = Outcome.OK
        self._close(write)
        report.requests_used = self._crm.requests_made - start
        return report

    def is_archived(self, contact_id: int) -> bool:
        """``isArchived`` never appears in a GET: an archived contact is the one a query
        without ``includeArchived`` leaves out."""
        page = self._crm.query_full_contacts(
            {
                "groups": [
                    {
                        "conditions": [
                            {"parameter": "Contact Id", "operator": "Is", "value": str(contact_id)}
                        ]
                    }
                ],
                "includeArchived": False,
            },
            take=1,
        )
        return page.total == 0


class WriteFence(Protocol):
    """Checked right before every remote write: raises if this process may no longer
    write the contact (its claim lapsed, see ``syncengine.engine.claims``)."""

    def check(self, contact_id: int) -> None: ...


class _NoFence:
    def check(self, contact_id: int) -> None:
        """Nothing to check: a caller that holds no claims (tests, the demo)."""


NO_FENCE: WriteFence = _NoFence()


def merged_into(contact: Record) -> int | None:
    """The survivor a merged-away contact points at (``mergedIntoContactId``), or None."""
    survivor = contact.get("mergedIntoContactId")
    if isinstance(survivor, bool) or not isinstance(survivor, int | str):
        return None
    try:
        value = int(survivor)
    except ValueError:
        return None
    return value if value > 0 else None


def _field_reports(group: p.WriteGroup) -> list[FieldReport]:
    return [FieldReport(c.text, c.old, c.value, reason=c.reason) for c in group.changes]


def _record_stored(
    report: WriteReport,
    group: p.WriteGroup,
    view: Record,
    normalised: Sequence[tuple[str, Any, Any]],
) -> None:
    changed = {text for text, _sent, _stored in normalised}
    for f, change in zip(report.fields, group.changes, strict=True):
        try:
            f.stored = get_value(view, p.verification_path(change))
        except PathError:  # a removed item no longer resolves: that is the intended state
            f.stored = REMOVE
        f.normalised = p.verification_path(change).render() in changed


def _moved_after(put_response: Mapping[str, Any] | None, fresh: Mapping[str, Any]) -> bool:
    if put_response is None:
        return False
    ours, now = put_response.get("modifiedDateTimeUtc"), fresh.get("modifiedDateTimeUtc")
    if not (isinstance(ours, str) and isinstance(now, str)):
        return False
    return crm_timestamp_sort_key(now) > crm_timestamp_sort_key(ours)
