"""New platform contacts: link to an existing CRM+ contact, or create one, never twice.

1. ``Find`` by our reference (``contactReferences`` source = ``local.reference_source``,
   id = the platform key): found -> link. This is also how a create whose answer was lost
   is found again.
2. ``Find`` by the primary email: found -> link, and our reference is added to it. From
   this lookup until the record is linked the email's claim (``email:<email>``) is held,
   so two new records sharing an email, created at once by two threads or two
   processes, never both miss the lookup and create two contacts: the second waits,
   then finds the first's contact.
3. Otherwise ``POST /api/Contact`` carrying our reference, journaled first. The client
   never repeats a create blindly; when its outcome is unknown we look it up by
   reference, and if it is not there yet the journal row stays ``unknown`` so the next
   run looks again before anything else is sent.
"""

from __future__ import annotations

from syncengine.domain.plan import Change
from syncengine.domain.ports import (
    Clock,
    CrmPort,
    Journal,
    JournalEntry,
    LocalPlatform,
    LocalRecord,
    Outcome,
    ProblemKind,
    Record,
)
from syncengine.domain.syncplan import create_body, platform_view, primary_email
from syncengine.domain.wellformed import shape_problems
from syncengine.engine.claims import (
    RunClaims,
    contact_subject,
    email_subject,
    new_record_subject,
)
from syncengine.engine.push import SafeUpdater
from syncengine.engine.sync import ContactReport, ContactSync, PlannedChange
from syncengine.errors import CrmDuplicateValue, CrmError, LocalDataError

CREATE_ENDPOINT = "/api/Contact"


class ContactCreator:
    def __init__(
        self,
        crm: CrmPort,
        journal: Journal,
        platform: LocalPlatform,
        updater: SafeUpdater,
        contacts: ContactSync,
        claims: RunClaims,
        clock: Clock,
        reference_source: str,
    ) -> None:
        self._crm = crm
        self._journal = journal
        self._platform = platform
        self._updater = updater
        self._contacts = contacts
        self._claims = claims
        self._clock = clock
        self._source = reference_source

    def create_or_link(self, local: LocalRecord, *, dry_run: bool = False) -> ContactReport:
        """Create or link one new platform record. The caller holds ``new:<key>``."""
        report = ContactReport(None, key=local.key, dry_run=dry_run)
        record = platform_view(local, {})
        problems = shape_problems(record)
        if problems:
            raise LocalDataError(
                self._platform.location(local.key), "malformed contact: " + "; ".join(problems[:5])
            )
        found = self._crm.find_contact_by_reference(self._source, local.key)
        if found is not None:
            return self._found(report, local, found, "reference")
        email = primary_email(record)
        if email is None or dry_run:
            return self._by_email(report, local, record, email)
        # The email's claim from the lookup until the platform record is linked: another
        # new record with this email (another key: another ``new:`` claim), on another
        # thread or in another process, waits here, then finds this one's contact by
        # email (and is reported as a second platform record of it) instead of missing
        # it and creating a second contact. ``ClaimHeld`` if it is held past the wait.
        with self._claims.holding(email_subject(email)):
            return self._by_email(report, local, record, email)

    def _by_email(
        self, report: ContactReport, local: LocalRecord, record: Record, email: str | None
    ) -> ContactReport:
        """Link to the contact holding ``email``, or create one."""
        found = self._crm.find_contact_by_email(email) if email else None
        if found is not None:
            return self._found(report, local, found, f"email {email}")
        dry_run = report.dry_run
        body = create_body(record, self._source, local.key)
        report.changes.append(PlannedChange("to_crm", "(new contact)", "add", None, body))
        report.outcome = "created"
        if dry_run:
            report.notes.append("dry run: would create the contact in CRM+")
            return report
        try:
            created = self._create(local.key, body, email)
        except CrmDuplicateValue as exc:
            # Not a crash and not a guess: a person decides whether this is the same
            # donor (then add our reference to that contact) or the platform's data is
            # wrong. The platform record stays new; the next run looks it up again.
            report.outcome = "conflict"
            report.failure = ProblemKind.DUPLICATE
            report.error = (
                f"CRM+ refused to create it: {exc.value or 'a value'} already belongs to "
                "another contact. If it is the same person, add the reference "
                f"{{source: {self._source}, id: {local.key}}} to that contact in CRM+; "
                "otherwise correct the platform record"
            )
            return report
        if created is None:
            report.outcome = "failed"
            report.error = (
                "CRM+ did not answer the create and the contact cannot be found by reference "
                "yet; the next run looks it up again before creating anything"
            )
            return report
        with self._claims.holding(contact_subject(int(created["id"]))):
            return self._after_create(report, local, created)

    def _found(
        self, report: ContactReport, local: LocalRecord, found: Record, how: str
    ) -> ContactReport:
        add_reference = how != "reference"
        if report.dry_run:
            return self._link(report, local, found, how, add_reference=add_reference)
        with self._claims.holding(contact_subject(int(found["id"]))):
            return self._link(report, local, found, how, add_reference=add_reference)

    def _create(self, key: str, body: Record, email: str | None) -> Record | None:
        entry_id = self._journal.open(
            JournalEntry(
                contact_id=None,
                method="POST",
                endpoint=CREATE_ENDPOINT,
                fields=["(new contact)"],
                before={},
                after={"referenceSource": self._source, "referenceId": key},
                started_at=self._clock.now(),
                local_key=key,
            )
        )
        try:
            self._claims.check_subject(new_record_subject(key))
            if email is not None:
                self._claims.check_subject(email_subject(email))
            created = self._crm.create_contact(body)
        except CrmDuplicateValue as exc:
            # Someone else holds the email (Find did not see it, e.g. it was added
            # meanwhile): linking to them is for a person to decide.
            self._journal.close(entry_id, Outcome.FAILED, error=str(exc))
            raise
        except CrmError as exc:
            if not getattr(exc, "maybe_applied", False):
                self._journal.close(entry_id, Outcome.FAILED, error=str(exc))
                raise
            again = self._crm.find_contact_by_reference(self._source, key)
            if again is None:
                self._journal.close(entry_id, Outcome.UNKNOWN, error=str(exc))
                return None
            self._journal.close(
                entry_id,
                Outcome.OK,
                response_after={"contactId": again.get("id")},
                note="no answer to the create; found by reference afterwards",
                contact_id=int(again["id"]),
            )
            return again
        self._journal.close(
            entry_id,
            Outcome.OK,
            response_after={"contactId": created.get("id")},
            contact_id=int(created["id"]),
        )
        return created

    def _after_create(
        self, report: ContactReport, local: LocalRecord, created: Record
    ) -> ContactReport:
        contact_id = int(created["id"])
        report.contact_id = contact_id
        linked = self._platform.link(local.key, contact_id)
        self._contacts.remember(contact_id, created)
        # The platform's copy gets the server's ids for its individuals, methods and
        # address, so later changes to them are matched by id, not by value.
        saved = self._platform.save(
            contact_id,
            self._contacts.project_for_platform(created),
            expected_modified=linked.modified_at,
        )
        self._contacts.remember_synced(contact_id, saved, "created")
        report.notes.append(f"created as contact {contact_id}")
        return report

    def _link(
        self,
        report: ContactReport,
        local: LocalRecord,
        found: Record,
        how: str,
        *,
        add_reference: bool,
    ) -> ContactReport:
        contact_id = int(found["id"])
        report.contact_id = contact_id
        report.outcome = "linked"
        report.notes.append(f"found contact {contact_id} by {how}")
        holder = self._platform.get(contact_id)
        if holder is not None:
            # Another platform record is that contact already (two new records with the
            # same email, say): linking a second one would make two platform records of
            # one donor. A person decides; nothing is changed.
            report.outcome = "failed"
            report.failure = ProblemKind.DUPLICATE
            report.error = (
                f"{self._platform.location(local.key)} matches contact {contact_id} by {how}, "
                f"which the platform already holds as {self._platform.location(holder.key)}: "
                "two platform records for one contact. Merge them on the platform, or give "
                "this one a different email; it is left as it is"
            )
            return report
        if report.dry_run:
            return report
        linked = self._platform.link(local.key, contact_id)
        if add_reference:
            # So that the next lookup (or a crash-recovery lookup) finds it by reference.
            self._updater.push(
                contact_id,
                [Change("contactReferences[+]", {"source": self._source, "id": local.key})],
                fresh=found,
            )
        # A first sync without a base (the reference push above put the contact in the
        # mirror, but nothing was ever agreed with the platform): equal fields agree,
        # differing ones follow the policy and are recorded.
        merged = self._contacts.sync(contact_id, local=linked, first_sync=True)
        merged.outcome = "linked" if merged.outcome == "unchanged" else merged.outcome
        merged.notes = report.notes + merged.notes
        return merged
