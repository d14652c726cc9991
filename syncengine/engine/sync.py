"""One contact's two-way sync: read both sides, merge against the base, apply.

The decision table (docs/sync.md has it in full, one row per case):

- linked platform record, CRM record present: merge3(base, platform, crm); the platform
  is written FIRST, then the safe full-record PUT, then mirror := response;
- no platform record, CRM record present: a first sync writes the CRM record (the
  fields that flow to the platform) to the platform;
- linked, CRM contact merged away (mergedIntoContactId, or 404 with a survivor known):
  the platform record is re-linked to the survivor and reported;
- linked, 404 and no survivor: reported; the platform record is left alone;
- new platform record: see ``syncengine.engine.creates`` (found by reference, then by
  email, else created with our reference so a lost answer is found again).

Why the platform is written before CRM+: the mirror (the merge base) must never move
past what the platform holds. If the run dies between the two writes, the re-run sees
the CRM values on both sides (agreed) and still pushes the platform's own changes; had
CRM+ been written first and the mirror advanced, the platform's stale values would look
like fresh platform edits and be pushed back over the CRM's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncengine.domain.diff import FieldChange, apply_changes
from syncengine.domain.fieldmap import FieldMap
from syncengine.domain.merge import Conflict, MergeResult, Resolution, merge3
from syncengine.domain.paths import Path, get_value, parse_path
from syncengine.domain.policy import MergePolicy
from syncengine.domain.ports import (
    Clock,
    ConflictRecord,
    ConflictStatus,
    ConflictStore,
    CrmPort,
    LocalPlatform,
    LocalRecord,
    MirrorStore,
    Record,
    SyncState,
    SyncStateStore,
)
from syncengine.domain.syncplan import (
    directed_policy,
    email_paths,
    flowing,
    platform_view,
    to_push_changes,
)
from syncengine.domain.timestamps import parse_crm_timestamp
from syncengine.engine.push import PushReport, SafeUpdater, jsonable
from syncengine.errors import CrmDuplicateValue, CrmNotFound, PathError


@dataclass(frozen=True)
class SyncOptions:
    fields: FieldMap
    policy: MergePolicy
    reference_source: str


@dataclass
class PlannedChange:
    direction: str  # "to_crm" | "to_platform"
    path: str
    kind: str
    old: Any
    new: Any
    rule: str | None = None  # for a both-sides change: the rule that decided it


@dataclass
class ContactReport:
    """What one contact's sync did (or, in a dry run, would do)."""

    contact_id: int | None
    key: str | None = None
    outcome: str = "unchanged"  # unchanged | pushed | pulled | synced | created | linked |
    # relinked | conflict | failed | skipped
    dry_run: bool = False
    changes: list[PlannedChange] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    push: PushReport | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "key": self.key,
            "outcome": self.outcome,
            "dry_run": self.dry_run,
            "changes": [
                {
                    "direction": c.direction,
                    "path": c.path,
                    "kind": c.kind,
                    "old": jsonable(c.old),
                    "new": jsonable(c.new),
                    "rule": c.rule,
                }
                for c in self.changes
            ],
            "conflicts": self.conflicts,
            "notes": self.notes,
            "error": self.error,
            "push": self.push.to_json() if self.push else None,
        }


@dataclass
class _Plan:
    """The merge, filtered by the field directions, with the decided conflicts folded in."""

    result: MergeResult
    to_crm: list[FieldChange]
    to_platform: list[FieldChange]
    decided: list[ConflictRecord]  # resolved by a data manager, not yet applied
    still_open: dict[str, ConflictRecord]  # by path: open from earlier runs


class ContactSync:
    """Syncs one contact at a time against the ports. Knows no concrete adapter."""

    def __init__(
        self,
        crm: CrmPort,
        mirror: MirrorStore,
        platform: LocalPlatform,
        conflicts: ConflictStore,
        states: SyncStateStore,
        updater: SafeUpdater,
        clock: Clock,
        options: SyncOptions,
    ) -> None:
        self._crm = crm
        self._mirror = mirror
        self._platform = platform
        self._conflicts = conflicts
        self._states = states
        self._updater = updater
        self._clock = clock
        self._options = options
        self._policy = directed_policy(options.policy, options.fields)

    # -- a linked contact ------------------------------------------------------------------

    def sync(
        self,
        contact_id: int,
        *,
        dry_run: bool = False,
        local: LocalRecord | None = None,
        fresh: Record | None = None,
        refetch_before_push: bool = False,
        first_sync: bool = False,
    ) -> ContactReport:
        """Sync one contact. ``local``/``fresh``: already read by the caller (``--all``).

        ``refetch_before_push``: ``fresh`` may be minutes old (a bulk query's): good
        enough to pull CRM-side changes, but a PUT is only ever built on a record read
        just before it, so when something must be pushed the contact is read again and
        merged anew.

        ``first_sync``: merge without a base even if the mirror has the contact (a
        platform record just linked to an existing CRM contact: nothing was ever agreed
        between them, so differing fields go to the policy, never "platform changed").
        """
        report = ContactReport(contact_id, dry_run=dry_run)
        local = local if local is not None else self._platform.get(contact_id)
        if local is not None:
            report.key = local.key
        try:
            crm = fresh if fresh is not None else self._updater.fetch_contact(contact_id)
        except CrmNotFound as exc:
            return self._gone(report, local, exc)
        if local is None:
            return self._first_to_platform(report, crm)

        entry = None if first_sync else self._mirror.get(contact_id)
        base = entry.record if entry is not None else None
        ours = platform_view(local, base if base is not None else crm)
        plan = self._plan(contact_id, base, ours, crm, local.modified_at)
        if plan.to_crm and fresh is not None and refetch_before_push and not dry_run:
            try:
                crm = self._updater.fetch_contact(contact_id)
            except CrmNotFound as exc:
                return self._gone(report, local, exc)
            plan = self._plan(contact_id, base, ours, crm, local.modified_at)
        self._describe(report, plan)
        if dry_run:
            return report
        self._record_conflicts(contact_id, plan, ours, crm, local)

        saved = local
        if plan.to_platform:
            saved = self._platform.save(
                contact_id,
                apply_changes(ours, plan.to_platform),
                expected_modified=local.modified_at,
            )
        if plan.to_crm:
            push = self._push(report, contact_id, crm, plan, ours, base)
            if push is None:
                return report
            report.push = push
        else:
            self._updater.remember(contact_id, crm)
        now = self._clock.now()
        for decided in plan.decided:
            if decided.id is not None:
                self._conflicts.mark_applied(decided.id, now)
        report.outcome = _outcome(plan, report)
        self.remember_synced(contact_id, saved, report.outcome)
        return report

    def _plan(
        self,
        contact_id: int,
        base: Record | None,
        ours: Record,
        crm: Record,
        platform_modified: datetime,
    ) -> _Plan:
        open_rows = self._conflicts.list(status=ConflictStatus.OPEN, contact_id=contact_id)
        decided = [
            c
            for c in self._conflicts.list(status=ConflictStatus.RESOLVED, contact_id=contact_id)
            if c.applied_at is None
        ]
        held = {c.path for c in open_rows} | {c.path for c in decided}
        result = merge3(
            base,
            ours,
            crm,
            self._policy,
            platform_modified=platform_modified,
            open_conflicts=held,
        )
        to_crm = flowing(result.to_crm, self._options.fields, to_platform=False)
        to_platform = flowing(result.to_platform, self._options.fields, to_platform=True)
        # A data manager's decision goes to both sides, whatever the merge would do.
        for choice in decided:
            to_crm += _decision(choice, crm)
            to_platform += _decision(choice, ours)
        return _Plan(result, to_crm, to_platform, decided, {c.path: c for c in open_rows})

    def _push(
        self,
        report: ContactReport,
        contact_id: int,
        crm: Record,
        plan: _Plan,
        ours: Record,
        base: Record | None,
    ) -> PushReport | None:
        changes = to_push_changes(plan.to_crm)
        try:
            return self._updater.push(contact_id, changes, fresh=crm)
        except CrmDuplicateValue as exc:
            # A value (an email) already belongs to another contact: that is for a person
            # to sort out, not a crash. Its paths are held until someone decides.
            for path in email_paths(changes, ours) or [c.path for c in changes]:
                self._conflicts.record(
                    self._conflict_row(
                        contact_id,
                        path,
                        base=_value(base, path),
                        platform=_value(ours, path),
                        crm=_value(crm, path),
                        suggestion=_value(crm, path),
                        rule="duplicate-value",
                        crm_record=crm,
                        platform_modified=None,
                    )
                )
                report.conflicts.append(path)
            report.outcome = "conflict"
            report.error = str(exc)
            return None

    # -- the other rows of the decision table -----------------------------------------------

    def _first_to_platform(self, report: ContactReport, crm: Record) -> ContactReport:
        """A CRM contact the platform does not know: written to the platform."""
        assert report.contact_id is not None
        projected = self.project_for_platform(crm)
        report.changes.append(PlannedChange("to_platform", "(record)", "add", None, projected))
        report.outcome = "pulled"
        if report.dry_run:
            return report
        saved = self._platform.save(report.contact_id, projected, expected_modified=None)
        report.key = saved.key
        self._updater.remember(report.contact_id, crm)
        self.remember_synced(report.contact_id, saved, report.outcome)
        return report

    def _gone(
        self, report: ContactReport, local: LocalRecord | None, exc: CrmNotFound
    ) -> ContactReport:
        """404 or merged away: re-link to a known survivor; otherwise leave the platform be."""
        assert report.contact_id is not None
        survivor = exc.merged_into
        if survivor is None:
            report.outcome = "failed"
            report.error = (
                f"contact {report.contact_id} is not in CRM+ (merged or deleted, no survivor "
                "known); the platform record was left alone"
            )
            return report
        report.notes.append(f"contact {report.contact_id} was merged into {survivor}")
        report.outcome = "relinked"
        if report.dry_run or local is None:
            return report
        if self._platform.get(survivor) is not None:
            report.outcome = "conflict"
            report.error = (
                f"contact {report.contact_id} was merged into {survivor}, which the platform "
                "also holds: the two platform records need merging by a person"
            )
            return report
        self._platform.relink(report.contact_id, survivor)
        state = self._states.get(report.contact_id)
        self._states.put(
            SyncState(
                report.contact_id,
                local.key,
                state.platform_modified if state else None,
                self._clock.now(),
                f"merged into {survivor}",
            )
        )
        return report

    # -- bookkeeping ------------------------------------------------------------------------

    def _describe(self, report: ContactReport, plan: _Plan) -> None:
        rules = {r.path: r.rule.value for r in plan.result.resolutions}
        for direction, changes in (("to_crm", plan.to_crm), ("to_platform", plan.to_platform)):
            report.changes += [
                PlannedChange(direction, c.path, c.kind, c.old, c.new, rules.get(c.path))
                for c in changes
            ]
        decided = {c.path for c in plan.decided}
        report.conflicts += [c.path for c in plan.result.conflicts if c.path not in decided]
        report.outcome = _outcome(plan, report)

    def _record_conflicts(
        self, contact_id: int, plan: _Plan, ours: Record, crm: Record, local: LocalRecord
    ) -> None:
        decided = {c.path for c in plan.decided}
        for conflict in plan.result.conflicts:
            if conflict.path in decided:
                continue  # a data manager's decision is being applied right now
            row = self._from_merge(contact_id, conflict, crm, local)
            known = plan.still_open.get(conflict.path)
            if known is not None:
                # Held from an earlier run: the sides' values are refreshed, but the base
                # and the reason stay those of the moment they diverged (the mirror has
                # moved on to the CRM value since).
                row.base, row.rule = known.base, known.rule
            self._conflicts.record(row)
        for resolution in plan.result.resolutions:
            self._conflicts.record(self._from_resolution(contact_id, resolution, crm, local))

    def _from_merge(
        self, contact_id: int, conflict: Conflict, crm: Record, local: LocalRecord
    ) -> ConflictRecord:
        return self._conflict_row(
            contact_id,
            conflict.path,
            base=conflict.base,
            platform=conflict.platform,
            crm=conflict.crm,
            suggestion=conflict.suggestion,
            rule=conflict.rule,
            crm_record=crm,
            platform_modified=local.modified_at,
            crm_modified=conflict.crm_modified,
        )

    def _from_resolution(
        self, contact_id: int, resolution: Resolution, crm: Record, local: LocalRecord
    ) -> ConflictRecord:
        row = self._conflict_row(
            contact_id,
            resolution.path,
            base=resolution.base,
            platform=resolution.platform,
            crm=resolution.crm,
            suggestion=resolution.chosen,
            rule=resolution.rule.value,
            crm_record=crm,
            platform_modified=local.modified_at,
        )
        row.status = ConflictStatus.AUTO
        row.resolution = resolution.chosen
        row.resolved_by = f"policy:{resolution.rule.value}"
        row.resolved_at = row.applied_at = self._clock.now()
        return row

    def _conflict_row(
        self,
        contact_id: int,
        path: str,
        *,
        base: Any,
        platform: Any,
        crm: Any,
        suggestion: Any,
        rule: str,
        crm_record: Record,
        platform_modified: datetime | None,
        crm_modified: datetime | None = None,
    ) -> ConflictRecord:
        stamp, author = _enclosing_audit(crm_record, path)
        return ConflictRecord(
            contact_id=contact_id,
            path=path,
            base=jsonable(base),
            platform=jsonable(platform),
            crm=jsonable(crm),
            platform_modified=platform_modified,
            crm_modified=crm_modified or _parse(stamp, self._policy),
            platform_author=None,
            crm_author=author,
            suggestion=jsonable(suggestion),
            rule=rule,
        )

    def project_for_platform(self, record: Record) -> Record:
        """``record`` trimmed to the fields that flow to the platform."""
        return self._options.fields.project(record, to_platform=True)

    def remember_synced(self, contact_id: int, saved: LocalRecord, outcome: str) -> None:
        """The platform record as of this sync: ``--all`` skips it until it changes."""
        self._states.put(
            SyncState(contact_id, saved.key, saved.modified_at, self._clock.now(), outcome)
        )


def _outcome(plan: _Plan, report: ContactReport) -> str:
    if report.outcome in ("conflict", "failed"):
        return report.outcome
    if report.conflicts:
        return "conflict"
    if plan.to_crm and plan.to_platform:
        return "synced"
    if plan.to_crm:
        return "pushed"
    if plan.to_platform:
        return "pulled"
    return "unchanged"


def _decision(choice: ConflictRecord, record: Record) -> list[FieldChange]:
    """The change that brings ``record`` to a data manager's chosen value."""
    current = _value(record, choice.path)
    if current == choice.resolution:
        return []
    return [FieldChange(choice.path, "set", current, choice.resolution)]


def _value(record: Record | None, path: str) -> Any:
    if record is None:
        return None
    try:
        return get_value(record, path)
    except PathError:
        return None


def _enclosing_audit(record: Record, path: str) -> tuple[str | None, str | None]:
    """modifiedDateTimeUtc and modifiedByUser of the smallest enclosing item that has them
    (method, address, individual, then the contact): who changed the field in CRM+."""
    try:
        segments = parse_path(path).segments
    except PathError:
        segments = ()
    for depth in range(len(segments), 0, -1):
        holder = _value(record, Path(tuple(segments[:depth])).render())
        if isinstance(holder, dict) and holder.get("modifiedDateTimeUtc"):
            return holder.get("modifiedDateTimeUtc"), holder.get("modifiedByUser")
    return record.get("modifiedDateTimeUtc"), record.get("modifiedByUser")


def _parse(stamp: str | None, policy: MergePolicy) -> datetime | None:
    if not stamp:
        return None
    try:
        return parse_crm_timestamp(stamp, policy.zone)
    except ValueError:
        return None
