"""Gathering a report from the stores (through the domain's ports, so the review page,
the command line and tests all build it the same way)."""

from __future__ import annotations

from datetime import datetime

from syncengine.domain.ports import ConflictStatus, ConflictStore, ProblemLog, RunLog
from syncengine.reports.model import Report, ReportFilters

# Enough runs to see a day of the daemon's pushes and pulls at their default intervals
# would be thousands; the summary shows the latest ones, the status command the rest.
RECENT_RUNS = 20


def collect_report(
    organization: str,
    filters: ReportFilters,
    *,
    conflicts: ConflictStore,
    problems: ProblemLog,
    runs: RunLog,
    now: datetime,
) -> Report:
    """The report ``filters`` select: ``open`` keeps the conflicts and problems still
    waiting; ``since`` keeps what was recorded or changed at or after it."""
    wanted = ConflictStatus.OPEN if filters.status == "open" else None
    chosen = [
        c
        for c in conflicts.list(status=wanted, contact_id=filters.contact_id)
        if filters.since is None or (c.updated_at is not None and c.updated_at >= filters.since)
    ]
    failures = problems.list(
        only_open=filters.status == "open", since=filters.since, contact_id=filters.contact_id
    )
    recent = [
        run
        for run in runs.latest(RECENT_RUNS)
        if filters.since is None or run.started_at >= filters.since
    ]
    return Report(
        organization=organization,
        generated_at=now,
        filters=filters,
        conflicts=chosen,
        problems=failures,
        runs=recent,
    )
