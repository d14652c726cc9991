"""What failed that is not a conflict, kept per contact (or new platform record) for the
reports and the review page: the latest failure, how often, since when; cleared by the
subject's next successful sync.

Every path that syncs contacts (``sync --contact``, ``sync --all``, the daemon's
workers) hands its ``ContactReport`` to ``ProblemRecorder.observe``: one place decides
what a report means for the problems log.
"""

from __future__ import annotations

from syncengine.domain.ports import Clock, Problem, ProblemKind, ProblemLog
from syncengine.engine.claims import contact_subject, new_record_subject
from syncengine.engine.sync import ContactReport, problem_details
from syncengine.errors import (
    CoercionError,
    CrmDuplicateValue,
    CrmNotFound,
    CrmValidationError,
    LocalDataError,
    PathError,
    SyncEngineError,
    ValueTooLarge,
    VerificationError,
)

# Outcomes that say nothing about the subject's health: a dry run changes nothing, a
# skipped contact was left to another run, which reports it, and a deferred one waits for
# the request budget (engine.budget).
_SILENT = frozenset({"skipped", "deferred"})
_MERGES = frozenset({"merged", "relinked"})


def failure_kind(exc: SyncEngineError) -> ProblemKind:
    """The kind of problem an exception that failed one contact's sync is."""
    if isinstance(exc, CrmValidationError):
        return ProblemKind.REFUSED
    if isinstance(exc, CrmDuplicateValue):
        return ProblemKind.DUPLICATE
    if isinstance(exc, CrmNotFound):
        return ProblemKind.MERGED if exc.merged_into is not None else ProblemKind.MISSING
    if isinstance(exc, VerificationError):
        return ProblemKind.MISMATCH
    if isinstance(exc, LocalDataError | CoercionError | PathError | ValueTooLarge):
        # The platform's record holds what CRM+ cannot take (a list for a name, a value
        # over the size limit): the record is to be corrected, on the platform.
        return ProblemKind.MALFORMED
    return ProblemKind.FAILED


def failed_report(contact_id: int | None, key: str | None, exc: SyncEngineError) -> ContactReport:
    """The report of a contact (or platform record) whose sync raised ``exc``."""
    report = ContactReport(
        contact_id, key=key, outcome="failed", error=str(exc), failure=failure_kind(exc)
    )
    if isinstance(exc, CrmValidationError):
        report.problems = problem_details(exc)
    return report


class ProblemRecorder:
    def __init__(self, log: ProblemLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    def open_contacts(self) -> set[int]:
        """The contacts with an open problem (their next sync must resolve it)."""
        return {p.contact_id for p in self._log.list() if p.contact_id is not None}

    def observe(self, report: ContactReport, *, new_record: bool = False) -> None:
        """Record what ``report`` says about its contact, or with ``new_record`` about
        the new platform record it was created or linked from."""
        if report.dry_run or report.outcome in _SILENT:
            return
        subjects = _subjects(report, new_record)
        if not subjects:
            return
        now = self._clock.now()
        if report.outcome == "failed" or report.failure is not None:
            problem = Problem(
                subject=subjects[0],
                kind=report.failure or ProblemKind.FAILED,
                message=report.error or "failed",
                contact_id=report.contact_id,
                key=report.key,
                details=list(report.problems),
            )
            self._log.report(problem, at=now)
        elif report.outcome in _MERGES:
            # Not a failure of the sync but a change a data manager should know of: the
            # contact is gone from CRM+, merged into another one.
            notice = Problem(
                subject=subjects[0],
                kind=ProblemKind.MERGED,
                message="; ".join(report.notes) or "merged in CRM+",
                contact_id=report.contact_id,
                key=report.key,
            )
            self._log.report(notice, at=now)
        else:
            for subject in subjects:
                self._log.resolve(subject, at=now)


def _subjects(report: ContactReport, new_record: bool) -> list[str]:
    """The subjects a report concerns, the one a failure is recorded on first: the new
    platform record for a create (a success ends the contact's problems too), else the
    contact, else the platform record the engine could not read."""
    contact = [contact_subject(report.contact_id)] if report.contact_id is not None else []
    record = [new_record_subject(report.key)] if report.key is not None else []
    return record + contact if new_record or not contact else contact
