"""What a report holds and the summary at its top, independent of the format.

Pure: built from the stores' records by the caller, rendered by ``html``, ``csv_format``
and ``json_format``. Every renderer shows the same content, so the summary and the
"why" of each suggestion are computed here, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from syncengine.domain.paths import field_of
from syncengine.domain.ports import ConflictRecord, ConflictStatus, JobRun, Problem

StatusFilter = Literal["open", "all"]

# Age buckets of open conflicts, youngest first: (label, upper bound).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1 day", timedelta(days=1)),
    ("1-7 days", timedelta(days=7)),
    ("7-30 days", timedelta(days=30)),
    ("over 30 days", None),
)


@dataclass(frozen=True)
class ReportFilters:
    status: StatusFilter = "open"
    since: datetime | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class Report:
    """Everything one report shows. ``conflicts`` and ``problems`` are already filtered."""

    organization: str
    generated_at: datetime
    filters: ReportFilters
    conflicts: Sequence[ConflictRecord]
    problems: Sequence[Problem]
    runs: Sequence[JobRun]


@dataclass(frozen=True)
class Summary:
    open_by_field: list[tuple[str, int]] = field(default_factory=list)
    open_by_age: list[tuple[str, int]] = field(default_factory=list)
    auto_by_rule: list[tuple[str, int]] = field(default_factory=list)
    problems_by_kind: list[tuple[str, int]] = field(default_factory=list)
    open_conflicts: int = 0
    open_problems: int = 0


def age_bucket(created: datetime | None, now: datetime) -> str:
    age = now - created if created is not None else timedelta(0)
    for label, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return label
    return AGE_BUCKETS[-1][0]  # pragma: no cover - the last bound is None


def summarize(report: Report) -> Summary:
    open_rows = [c for c in report.conflicts if c.status is ConflictStatus.OPEN]
    by_field = Counter(field_of(c.path) for c in open_rows)
    by_age = Counter(age_bucket(c.created_at, report.generated_at) for c in open_rows)
    by_rule = Counter(c.rule for c in report.conflicts if c.status is ConflictStatus.AUTO)
    by_kind = Counter(p.kind.value for p in report.problems if p.resolved_at is None)
    return Summary(
        open_by_field=_ranked(by_field),
        open_by_age=[(label, by_age[label]) for label, _ in AGE_BUCKETS],
        auto_by_rule=_ranked(by_rule),
        problems_by_kind=_ranked(by_kind),
        open_conflicts=len(open_rows),
        open_problems=sum(by_kind.values()),
    )


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    """Largest first; ties by name, so the order is stable from run to run."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# Why a rule suggests (or chose) what it does, in words a data manager reads.
_RULE_REASONS: dict[str, str] = {
    "newest": "both sides changed it; the side modified last wins",
    "crm": "both sides changed it; the policy prefers CRM+ for this field",
    "platform": "both sides changed it; the policy prefers the platform for this field",
    "manual": "both sides changed it; the policy leaves this field to a person",
    "duplicate-value": "CRM+ refused the value: another contact already has it (409)",
    "merged": "the contact was merged in CRM+; this platform change could not be kept",
    "merged-away": "the platform holds both contacts that CRM+ merged into one",
    "push": "a push overrode this platform edit",
    "removed-vs-edited": "one side removed the item while the other edited it",
    "held": "the field is held until an open conflict on it is decided",
    "duplicate-natural-key": "two items share the same natural key; which is which is unclear",
}


def suggestion_reason(conflict: ConflictRecord) -> str:
    """Why the suggestion is what it is (or why the rule decided as it did)."""
    base = _RULE_REASONS.get(conflict.rule, f"rule {conflict.rule}")
    if conflict.rule == "newest":
        side = _newer_side(conflict)
        if side is None:
            return "both sides changed it, and the modification times do not tell which last"
        return f"{base}: {side} (modified later)"
    return base


def _newer_side(conflict: ConflictRecord) -> str | None:
    platform, crm = conflict.platform_modified, conflict.crm_modified
    if platform is None or crm is None or platform == crm:
        return None
    return "the platform" if platform > crm else "CRM+"


def conflict_fields(conflict: ConflictRecord) -> dict[str, Any]:
    """The values every format shows for one conflict, in a fixed order (JSON-ready)."""
    return {
        "id": conflict.id,
        "contact_id": conflict.contact_id,
        "path": conflict.path,
        "field": field_of(conflict.path),
        "status": conflict.status.value,
        "rule": conflict.rule,
        "base": conflict.base,
        "platform": conflict.platform,
        "platform_modified": _iso(conflict.platform_modified),
        "platform_author": conflict.platform_author,
        "crm": conflict.crm,
        "crm_modified": _iso(conflict.crm_modified),
        "crm_author": conflict.crm_author,
        "suggestion": conflict.suggestion,
        "reason": suggestion_reason(conflict),
        "resolution": conflict.resolution,
        "resolved_by": conflict.resolved_by,
        "resolved_at": _iso(conflict.resolved_at),
        "applied_at": _iso(conflict.applied_at),
        "created_at": _iso(conflict.created_at),
        "updated_at": _iso(conflict.updated_at),
        "resolved_from": conflict.resolved_from,
    }


def problem_fields(problem: Problem) -> dict[str, Any]:
    return {
        "subject": problem.subject,
        "contact_id": problem.contact_id,
        "key": problem.key,
        "kind": problem.kind.value,
        "message": problem.message,
        "details": problem.details,
        "count": problem.count,
        "first_seen": _iso(problem.first_seen),
        "last_seen": _iso(problem.last_seen),
        "resolved_at": _iso(problem.resolved_at),
    }


def filters_fields(filters: ReportFilters) -> dict[str, Any]:
    """What the report was asked for, as the JSON and HTML reports state it."""
    return {
        "status": filters.status,
        "since": _iso(filters.since),
        "contact_id": filters.contact_id,
    }


def run_fields(run: JobRun) -> dict[str, Any]:
    return {
        "job": run.job,
        "run_id": run.run_id,
        "worker": run.worker,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "outcome": run.outcome,
        "counts": dict(run.counts),
        "error": run.error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
