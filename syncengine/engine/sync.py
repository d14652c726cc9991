"""One contact's two-way sync: read both sides, merge against the base, apply.

The decision table (docs/sync.md has it in full, one row per case):

- linked platform record, CRM record present: merge3(base, platform, crm); the platform
  is written FIRST, then the safe full-record PUT, then mirror := response;
- no platform record, CRM record present: a first sync writes the CRM record (the
  fields that flow to the platform) to the platform;
- a write made outside the sync (``push``, ``archive``) since the last run: CRM+'s value
  at its fields is carried to the platform, never the platform's older one back;
- linked, CRM contact merged away (mergedIntoContactId, in a GET or in the bulk query,
  or 404 with a survivor known): the platform record becomes the survivor's, holding the
  survivor's CRM record plus the platform's own unsynced changes (see ``_relink``); a
  platform that holds the survivor too gets an open conflict;
- linked, 404 and no survivor: reported; the platform record is left alone;
- new platform record: see ``syncengine.engine.creates`` (found by reference, then by
  email, else created with our reference so a lost answer is found again).

The base (the mirror) is the last state BOTH sides agreed on. Only this module writes
it, and only once the platform holds what it says. Why the platform is written before
CRM+: the base must never move past what the platform holds. If the run dies between
the two writes, the re-run sees the CRM values on both sides (agreed) and still pushes
the platform's own changes; had CRM+ been written first and the base advanced, the
platform's stale values would look like fresh platform edits and be pushed back over
the CRM's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncengine.domain.diff import FieldChange, apply_changes, diff
from syncengine.domain.fieldmap import FieldMap
from syncengine.domain.limits import DEFAULT_MAX_VALUE_SIZE, describe_oversized, oversized_values
from syncengine.domain.merge import Conflict, MergeResult, Resolution
from syncengine.domain.paths import (
    REMOVE,
    Append,
    Item,
    Key,
    Path,
    get_value,
    item_segment,
    parse_path,
    write_in_place,
)
from syncengine.domain.policy import MergePolicy
from syncengine.domain.ports import (
    Atomic,
    Clock,
    ConflictRecord,
    ConflictStatus,
    ConflictStore,
    CrmPort,
    Journal,
    JournalEntry,
    LocalPlatform,
    LocalRecord,
    MirrorEntry,
    MirrorStore,
    PlatformWrite,
    ProblemKind,
    Record,
    SyncState,
    SyncStateStore,
    not_atomic,
)
from syncengine.domain.records import content_hash, copy_json
from syncengine.domain.syncplan import (
    directed_policy,
    email_paths,
    flowing,
    platform_view,
    to_push_changes,
)
from syncengine.domain.timestamps import parse_crm_timestamp
from syncengine.domain.wellformed import shape_problems
from syncengine.engine.claims import RunClaims, contact_subject
from syncengine.engine.merge_memo import MergeMemo
from syncengine.engine.platform_writes import base_with_landed, landed_paths, write_of
from syncengine.engine.push import ARCHIVE_FIELD, PushReport, SafeUpdater, jsonable, merged_into
from syncengine.errors import (
    AmbiguousPath,
    CoercionError,
    CrmBadAnswer,
    CrmDuplicateValue,
    CrmNotFound,
    CrmValidationError,
    LocalDataError,
    PathError,
    ValueTooLarge,
    VerificationError,
)

# The conflict path of "merged in CRM+ into a contact the platform holds too".
MERGED_PATH = "mergedIntoContactId"
# Rules recorded for what the sync did on a person's behalf.
RULE_MERGED = "merged"
RULE_MERGED_AWAY = "merged-away"
RULE_OUTSIDE = "push"
# How many "merged into" hops are followed before giving up (A -> B -> C ...).
MAX_MERGE_HOPS = 5


@dataclass(frozen=True)
class SyncOptions:
    fields: FieldMap
    policy: MergePolicy
    reference_source: str
    max_value_size: int = DEFAULT_MAX_VALUE_SIZE


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
    # relinked | merged | conflict | failed | skipped | deferred
    dry_run: bool = False
    changes: list[PlannedChange] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    # Per-field details of a refused write (400 modelState / 422 details): what to fix.
    problems: list[dict[str, Any]] = field(default_factory=list)
    # What kind of failure a "failed" outcome is, where the engine knows better than the
    # exception (see ``engine.problems``).
    failure: ProblemKind | None = None
    # Where a record was written on the platform (a file, a table row), for messages.
    written_to: str | None = None
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
            "problems": self.problems,
            "written_to": self.written_to,
            "push": self.push.to_json() if self.push else None,
        }


@dataclass
class _Carry:
    """Writes made outside the sync that the platform has not been given yet."""

    entries: list[JournalEntry] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # concrete, in CRM+'s naming
    archived: bool | None = None  # the archive state an archive/unarchive left

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.entries if e.id is not None]


@dataclass
class _Plan:
    """The merge, filtered by the field directions, with the decided conflicts and the
    outside writes folded in."""

    result: MergeResult
    to_crm: list[FieldChange]
    to_platform: list[FieldChange]
    decided: list[ConflictRecord]  # resolved by a data manager, not yet applied
    still_open: dict[str, ConflictRecord]  # by path: open from earlier runs
    carry: _Carry
    carried: list[FieldChange]  # the part of to_platform that carries outside writes
    overridden: list[tuple[str, Any, Any, Any]]  # path, base, platform, CRM value

    @property
    def does_nothing(self) -> bool:
        """Nothing to write on either side, no conflict to open, hold or apply, no
        outside write to carry: the sync only records where the contact stands."""
        return not (
            self.to_crm
            or self.to_platform
            or self.decided
            or self.still_open
            or self.result.conflicts
            or self.carry.entries
            or self.carry.archived is not None
        )


@dataclass(frozen=True)
class RunKnowledge:
    """What a run's bulk reads say about every contact, for planning the whole run.

    ``mirrored``: the contacts the mirror holds. ``busy``: the contacts with an open
    conflict, a decision to apply, an outside write not carried yet, or a platform
    write left open; any other contact has none of those, so its plan reads none."""

    mirrored: Set[int]
    busy: Set[int]
    # Per contact, when the latest of the sync's own writes CRM+ applied started
    # (``Journal.last_applied``): a mirror entry stored after it already holds them all.
    last_applied: Mapping[int, datetime] = field(default_factory=dict)

    def quiet(self, contact_id: int) -> bool:
        return contact_id not in self.busy

    def wrote_since(self, contact_id: int, since: datetime) -> bool:
        latest = self.last_applied.get(contact_id)
        return latest is not None and latest > since


class ContactSync:
    """Syncs one contact at a time against the ports. Knows no concrete adapter.

    The caller holds the contact's claim (``contact:<id>``); a relink also takes the
    survivor's.
    """

    def __init__(
        self,
        crm: CrmPort,
        mirror: MirrorStore,
        platform: LocalPlatform,
        conflicts: ConflictStore,
        states: SyncStateStore,
        journal: Journal,
        updater: SafeUpdater,
        claims: RunClaims,
        clock: Clock,
        options: SyncOptions,
        *,
        atomic: Atomic = not_atomic,
    ) -> None:
        self._crm = crm
        self._mirror = mirror
        self._platform = platform
        self._conflicts = conflicts
        self._states = states
        self._journal = journal
        self._updater = updater
        self._claims = claims
        self._clock = clock
        self._options = options
        self._policy = directed_policy(options.policy, options.fields)
        # A run's plan of a contact and its sync merge the same versions (engine.merge_memo).
        self._merges = MergeMemo(self._policy)
        # Groups a sync's consecutive store calls in one transaction (see ``sync``).
        self._atomic = atomic

    @property
    def kept_plans(self) -> int:
        """How many contacts' merges are kept for a sync to come (none between runs)."""
        return len(self._merges)

    def forget_plans(self) -> None:
        """Drop the merges kept for syncs that will not come (a run stopped by its guard
        or its budget, a contact that failed before its sync): a long-lived process
        keeps none between runs."""
        self._merges.clear()

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
        known: RunKnowledge | None = None,
        mirror_entry: MirrorEntry | None = None,
        crm_unchanged: bool = False,
    ) -> ContactReport:
        """Sync one contact. ``local``/``fresh``: already read by the caller (``--all``).

        ``refetch_before_push``: ``fresh`` may be minutes old (a bulk query's): good
        enough to pull CRM-side changes, but a PUT is only ever built on a record read
        just before it, so when something must be pushed the contact is read again and
        merged anew.

        ``first_sync``: merge without a base even if the mirror has the contact (a
        platform record just linked to an existing CRM contact: nothing was ever agreed
        between them, so differing fields go to the policy, never "platform changed").

        ``known``: for a dry run only (the guard's plan of a whole run), what the run's
        bulk reads already say about the contact, so that planning thousands of contacts
        does not read the mirror, the journal and the conflicts once per contact. A real
        sync always reads them itself, under the contact's claim. ``mirror_entry``: the
        mirror's entry of the contact, read by the planning caller just before.

        ``crm_unchanged`` (with no ``fresh``): the caller knows CRM+ has not changed the
        contact since the mirror's entry (a bulk query since the run's cursor did not
        return it), so the contact is first planned against the mirror, without a
        request; only a plan that does something reads it from CRM+ and is made again.
        A platform record the sync must look at once more (its modification time
        unsettled, or touched without an edit) then costs no request.
        """
        if not dry_run:
            known = mirror_entry = None
        report = ContactReport(contact_id, dry_run=dry_run)
        local = local if local is not None else self._platform.get(contact_id)
        if local is not None:
            report.key = local.key
        # The mirror stands for CRM+ only where it is the contact's whole story.
        assumed = (
            self._mirror.get(contact_id)
            if crm_unchanged and fresh is None and local is not None and not dry_run
            else None
        )
        if assumed is not None and (assumed.archived or assumed.merged_into is not None):
            assumed = None
        try:
            crm = assumed.record if assumed is not None else self._current(contact_id, fresh)
        except CrmNotFound as exc:
            return self._gone(report, local, exc)
        if assumed is not None:
            mirror_entry = assumed
        if local is None:
            return self._first_to_platform(report, crm)

        quiet = known is not None and known.quiet(contact_id)
        # A plan the run's bulk reads say all about (no mirror entry to read, nothing in
        # the journal or the conflicts) reads nothing: no transaction is opened for it (a
        # pooled connection's checkout, ping and rollback for each contact of a first sync).
        reads_nothing = quiet and (
            first_sync
            or (mirror_entry is None and known is not None and contact_id not in known.mirrored)
        )
        # The store's reads, in one transaction: one snapshot, one commit.
        with not_atomic() if reads_nothing else self._atomic(writing=False):
            entry = None
            if first_sync:
                pass
            elif mirror_entry is not None:
                entry = mirror_entry
            elif known is None or contact_id in known.mirrored:
                entry = self._mirror.get(contact_id)
            # Platform writes of a run that died before this contact's sync ended.
            unsettled = () if quiet else self._journal.platform_writes(contact_id)
            base = self._base(contact_id, entry, local, unsettled, known)
            ours = platform_view(local, base if base is not None else crm)
            self._check_records(contact_id, local, ours, crm)
            carry = _Carry() if quiet else self._carry(contact_id, ours, unsettled)
            # Kept for a merge of the same versions to come: the run's sync of a contact
            # its guard plans, or this sync's own plan once the contact is read from CRM+.
            keep = (dry_run and known is not None) or (assumed is not None and not dry_run)
            plan = self._plan(
                contact_id, base, ours, crm, local.modified_at, carry, quiet=quiet, keep=keep
            )
        # Only a plan that does nothing is taken from the mirror; any other is made again
        # on the contact as CRM+ holds it now (a PUT is only built on a record just read).
        refetch = (assumed is not None and not plan.does_nothing) or (
            plan.to_crm and fresh is not None and refetch_before_push and not dry_run
        )
        if refetch:
            try:
                crm = self._current(contact_id, None)
            except BaseException as exc:
                # A kept plan no second merge will follow (a long-lived worker keeps none).
                self._merges.forget(contact_id)
                if isinstance(exc, CrmNotFound):
                    return self._gone(report, local, exc)
                raise
            plan = self._plan(contact_id, base, ours, crm, local.modified_at, carry)
            assumed = None
        elif not dry_run:
            self._merges.forget(contact_id)  # no second merge of this contact is coming
        self._describe(report, plan)
        if dry_run:
            return report

        saved = local
        written = _without_archive(plan.to_platform)
        held = _applied_to_platform(contact_id, ours, written)
        opened: list[int] = [w.id for w in unsettled if w.id is not None]
        # The conflicts and the record of the platform write: durable before the write.
        with self._atomic():
            self._record_conflicts(contact_id, plan, ours, crm, local)
            if plan.to_platform:
                self._claims.check(contact_id)
                opened.append(self._open_platform_write(contact_id, written))
        if plan.to_platform:
            saved = self._platform.save(
                contact_id, _with_archive(held, plan), expected_modified=local.modified_at
            )
        now = self._clock.now()
        if plan.to_crm:
            # The platform holds CRM+'s values at the outside writes' fields now.
            self._journal.mark_carried(carry.ids, now)
            push = self._push(report, local, contact_id, crm, plan, ours, base)
            if push is None:
                return report
            report.push = push
            self._remember(
                contact_id, push.record_after or crm, archived=carry.archived, previous=entry
            )
            if push.record_after is not None:
                saved = self._echo(report, contact_id, saved, held, push.record_after, plan, opened)
        report.outcome = _outcome(plan, report)
        # What the sync did, recorded at once: all of it or (a crash) none, at one commit.
        with self._atomic():
            if not plan.to_crm:
                self._journal.mark_carried(carry.ids, now)
                if assumed is None:  # else CRM+ told nothing the mirror does not hold
                    self._remember(contact_id, crm, archived=carry.archived, previous=entry)
            for decided in plan.decided:
                if decided.id is not None:
                    self._conflicts.mark_applied(decided.id, now)
            self.remember_synced(contact_id, saved, report.outcome)
            if opened:
                # The mirror and the journal know everything these writes did.
                self._journal.close_platform_writes(contact_id, through=max(opened))
        return report

    def _base(
        self,
        contact_id: int,
        entry: MirrorEntry | None,
        local: LocalRecord,
        unsettled: Sequence[PlatformWrite],
        known: RunKnowledge | None = None,
    ) -> Record | None:
        """The merge base: the mirror's record, with this sync's own writes to either
        side that landed after the mirror was stored (a run died before updating it)."""
        if entry is None:
            return None
        if known is not None and not known.wrote_since(contact_id, entry.fetched_at):
            base = entry.record
        else:
            base = self._base_with_our_writes(contact_id, entry)
        if not unsettled:
            return base
        return base_with_landed(base, platform_view(local, base), unsettled, entry.fetched_at)

    def _open_platform_write(self, contact_id: int, changes: Sequence[FieldChange]) -> int:
        return self._journal.open_platform_write(write_of(contact_id, changes, self._clock.now()))

    def _echo(
        self,
        report: ContactReport,
        contact_id: int,
        saved: LocalRecord,
        held: Record,
        after: Record,
        plan: _Plan,
        opened: list[int],
    ) -> LocalRecord:
        """What the write made CRM+ hold beyond what was sent reaches the platform now: a
        companion change (marking a person deceased opts out their contact methods in the
        same write), a value the server normalised. Left on the platform, the older value
        would read as a platform edit against the new base on the next sync and be
        written back: a deceased donor's email opted in again."""
        # Only fields the platform holds: an absent field is one it does not manage, and
        # the echo must not add it (nor a CRM-side item it never had).
        changed = diff(held, after, held_by_old=True)
        extra = [
            c
            for c in flowing(changed, self._options.fields, to_platform=True)
            if _holds(held, c.path)
        ]
        if not extra:
            return saved
        self._claims.check(contact_id)
        opened.append(self._open_platform_write(contact_id, extra))
        echoed = self._platform.save(
            contact_id,
            _with_archive(apply_changes(held, extra), plan),
            expected_modified=saved.modified_at,
        )
        report.changes += [
            PlannedChange("to_platform", c.path, c.kind, c.old, c.new, rule="with the write")
            for c in extra
        ]
        return echoed

    def _current(self, contact_id: int, fresh: Record | None) -> Record:
        """The CRM record (``fresh`` if the caller has one); CrmNotFound naming the
        survivor when the contact was merged away (in a GET or in the bulk query)."""
        if fresh is not None:
            survivor = merged_into(fresh)
            if survivor is None or survivor == contact_id:
                return fresh
            raise CrmNotFound(
                "this contact was merged away in CRM+",
                merged_into=survivor,
                method="POST",
                url_path="/api/Contact/Query/FullContact",
            )
        try:
            return self._updater.fetch_contact(contact_id)
        except CrmNotFound as exc:
            if exc.merged_into is None:
                known = self._mirror.get(contact_id)
                if known is not None and known.merged_into:
                    exc.merged_into = known.merged_into  # told by an earlier GET
            raise

    def _check_records(
        self, contact_id: int, local: LocalRecord | None, ours: Record | None, crm: Record
    ) -> None:
        """Refuse, before anything is merged or written, a record that is malformed where
        the sync relies on its shape, or holds a value over ``sync.max_value_size``."""
        limit = self._options.max_value_size
        if local is not None and ours is not None:
            problems = shape_problems(ours)
            if problems:
                raise LocalDataError(
                    self._platform.location(local.key),
                    "malformed contact: " + "; ".join(problems[:5]),
                )
            found = oversized_values(ours, limit)
            if found:
                raise LocalDataError(
                    self._platform.location(local.key), describe_oversized(found, limit)
                )
        problems = shape_problems(crm)
        if problems:
            raise CrmBadAnswer(
                f"the record of contact {contact_id} is malformed: " + "; ".join(problems[:5]),
                method="GET",
                url_path=f"/api/Contact/{contact_id}",
            )
        found = oversized_values(crm, limit)
        if found:
            raise ValueTooLarge(f"CRM+ contact {contact_id}", describe_oversized(found, limit))

    def _plan(
        self,
        contact_id: int,
        base: Record | None,
        ours: Record,
        crm: Record,
        platform_modified: datetime,
        carry: _Carry,
        *,
        quiet: bool = False,
        keep: bool = False,
    ) -> _Plan:
        # One read of the contact's conflicts (two, one per status, were a tenth of a plan);
        # none when the run's bulk read found it has none.
        rows = [] if quiet else self._conflicts.list(contact_id=contact_id)
        open_rows = [c for c in rows if c.status is ConflictStatus.OPEN]
        decided = [c for c in rows if c.status is ConflictStatus.RESOLVED and c.applied_at is None]
        held = {c.path for c in open_rows} | {c.path for c in decided}
        # An outside write: CRM+ is the truth at its fields until the platform has them.
        # The platform's view is brought there BEFORE merging, so the merge sees those
        # fields agreed and never sends the platform's older value back over the write.
        carried = [
            change
            for path in carry.paths
            if path not in held and self._options.fields.flows_to_platform(path)
            for change in _bring(ours, crm, path)
        ]
        overridden = [
            (c.path, _value(base, c.path), c.old, c.new)
            for c in carried
            if c.kind == "set" and base is not None and c.old != _value(base, c.path)
        ]
        caught_up = apply_changes(ours, carried) if carried else ours
        result = self._merges.merge(
            contact_id,
            base,
            caught_up,
            crm,
            platform_modified=platform_modified,
            open_conflicts=held,
            keep=keep,
        )
        to_crm = flowing(result.to_crm, self._options.fields, to_platform=False)
        to_platform = carried + flowing(result.to_platform, self._options.fields, to_platform=True)
        # A data manager's decision goes to both sides, whatever the merge would do.
        for choice in decided:
            to_crm += _decision(choice, crm, "CRM+")
            to_platform += _decision(choice, ours, "platform")
        if (
            carry.archived is not None
            and self._options.fields.flows_to_platform(ARCHIVE_FIELD)
            and ours.get(ARCHIVE_FIELD) is not carry.archived
        ):
            to_platform.append(
                FieldChange(ARCHIVE_FIELD, "set", ours.get(ARCHIVE_FIELD), carry.archived)
            )
        return _Plan(
            result,
            to_crm,
            to_platform,
            decided,
            {c.path: c for c in open_rows},
            carry,
            carried,
            overridden,
        )

    def _carry(
        self,
        contact_id: int,
        ours: Record | None = None,
        unsettled: Sequence[PlatformWrite] = (),
    ) -> _Carry:
        """The outside writes to carry to the platform (``ours``: the platform's record).

        A field a later platform write already brought there, in a run that died before
        marking the write carried, is not carried again: the platform may have edited it
        since, and carrying it again would undo that edit."""
        carry = _Carry(entries=list(self._journal.uncarried(contact_id)))
        for entry in carry.entries:
            landed = (
                set()
                if ours is None
                else landed_paths(ours, [w for w in unsettled if _after(w, entry)])
            )
            for path in entry.fields:
                stored = entry.response_after.get(path, entry.after.get(path))
                if path == ARCHIVE_FIELD:
                    carry.archived = bool(stored)
                elif not path.startswith("addresses["):
                    # Non-primary addresses are not part of the platform's Contact.
                    concrete = _concrete(path, stored)
                    if (
                        concrete is not None
                        and concrete not in carry.paths
                        and concrete not in landed
                    ):
                        carry.paths.append(concrete)
        return carry

    def _push(
        self,
        report: ContactReport,
        local: LocalRecord,
        contact_id: int,
        crm: Record,
        plan: _Plan,
        ours: Record,
        base: Record | None,
    ) -> PushReport | None:
        try:
            changes = to_push_changes(plan.to_crm)
            return self._updater.push(contact_id, changes, fresh=crm)
        except (CoercionError, PathError) as exc:
            # The values come from the platform record: say which one is wrong.
            raise LocalDataError(self._platform.location(local.key), str(exc)) from exc
        except VerificationError as exc:
            # Applied, though not as meant: the base still takes what the write answered.
            if exc.record_after is not None:
                self._remember(contact_id, dict(exc.record_after))
            raise
        except CrmValidationError as exc:
            report.problems = problem_details(exc)
            raise
        except CrmDuplicateValue as exc:
            # A value (an email) already belongs to another contact: that is for a person
            # to sort out, not a crash. Its paths are held until someone decides.
            changes = to_push_changes(plan.to_crm)
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
        pending = self._new_record_of(crm)
        if pending is not None:
            # Our own create, not yet linked (a run died between the POST and the link):
            # that record's create links it; writing the contact here would put it on
            # the platform twice.
            report.key = pending
            report.outcome = "skipped"
            report.notes.append(
                f"created in CRM+ for the platform's new record {pending}: left to that "
                "record's create, which links it"
            )
            return report
        self._check_records(report.contact_id, None, None, crm)
        projected = self.project_for_platform(crm)
        report.changes.append(PlannedChange("to_platform", "(record)", "add", None, projected))
        report.outcome = "pulled"
        if report.dry_run:
            return report
        self._claims.check(report.contact_id)
        saved = self._platform.save(report.contact_id, projected, expected_modified=None)
        report.key = saved.key
        report.written_to = self._platform.location(saved.key)
        # The whole CRM record went over: any outside write on it is carried.
        self._journal.mark_carried(self._carry(report.contact_id).ids, self._clock.now())
        self._remember(report.contact_id, crm)
        self.remember_synced(report.contact_id, saved, report.outcome)
        return report

    def _base_with_our_writes(self, contact_id: int, entry: MirrorEntry) -> Record:
        """The merge base, with this sync's own writes that CRM+ applied after the mirror
        was stored (a run that died between its PUT and its mirror update, or a write
        recovery found applied) written onto it.

        Those values were agreed: the platform held them when they were sent (the
        platform is written before CRM+). Left out, the platform's next edit of such a
        field would meet our own write as a CRM-side change, and a policy could give the
        field back to the older value (found by the whole-engine simulation)."""
        written = self._journal.applied_since(contact_id, entry.fetched_at)
        if not written:
            return entry.record
        base = copy_json(entry.record)
        for write in written:
            # What CRM+ stored where the answer said so, else what was sent.
            for text, value in {**write.after, **write.response_after}.items():
                if value == jsonable(REMOVE):
                    continue  # an item removal: the base keeps it, the merge decides
                try:
                    write_in_place(base, text, value)
                except PathError:
                    continue  # an item added by that write: the merge matches it by id
        return base

    def _new_record_of(self, crm: Record) -> str | None:
        """The key of the platform's new (unlinked) record this CRM contact was created
        for, by our reference on it; None if there is none."""
        source = self._options.reference_source
        for reference in crm.get("contactReferences") or []:
            if not isinstance(reference, dict):
                continue
            key = reference.get("id")
            if reference.get("source") != source or not isinstance(key, str):
                continue
            try:
                if self._platform.get_new(key) is not None:
                    return key
            except LocalDataError:
                return key  # malformed, but still that record's: never written twice
        return None

    def _gone(
        self, report: ContactReport, local: LocalRecord | None, exc: CrmNotFound
    ) -> ContactReport:
        """404 or merged away: the platform record follows a known survivor; otherwise it
        is left alone."""
        contact_id = report.contact_id
        assert contact_id is not None
        survivor = exc.merged_into
        if survivor is None:
            report.outcome = "failed"
            report.failure = ProblemKind.MISSING
            report.error = (
                f"contact {contact_id} is not in CRM+ (merged or deleted, no survivor "
                "known); the platform record was left alone"
            )
            return report
        report.notes.append(f"contact {contact_id} was merged into {survivor} in CRM+")
        if not report.dry_run:
            self._note_merged(contact_id, survivor)
        if local is None:
            report.outcome = "merged"  # nothing on the platform to move
            return report
        if self._platform.get(survivor) is not None:
            return self._both_held(report, local, survivor)
        report.outcome = "relinked"
        if report.dry_run:
            return report
        with self._claims.holding(contact_subject(survivor)):
            # Again under the survivor's claim: the run that held it may have written the
            # survivor to the platform meanwhile (a contact new to a `local.scope: all`).
            if self._platform.get(survivor) is not None:
                return self._both_held(report, local, survivor)
            return self._relink(report, local, survivor)

    def _both_held(self, report: ContactReport, local: LocalRecord, survivor: int) -> ContactReport:
        """The platform holds the merged-away contact AND its survivor: two platform
        records for one CRM contact. Only a person can merge them: an open conflict."""
        contact_id = report.contact_id
        assert contact_id is not None
        report.outcome = "conflict"
        report.conflicts.append(MERGED_PATH)
        report.error = (
            f"contact {contact_id} was merged into {survivor} in CRM+, and the platform "
            f"holds both ({self._platform.location(local.key)} and "
            f"{self._platform.location(str(survivor))}): merge the two platform records, "
            f"then resolve the conflict; until then {contact_id} is left alone"
        )
        if report.dry_run:
            return report
        self._conflicts.record(
            ConflictRecord(
                contact_id=contact_id,
                path=MERGED_PATH,
                base=None,
                platform=None,
                crm=survivor,
                platform_modified=local.modified_at,
                crm_modified=None,
                platform_author=None,
                crm_author=None,
                suggestion=survivor,
                rule=RULE_MERGED,
            )
        )
        return report

    def _relink(self, report: ContactReport, local: LocalRecord, survivor: int) -> ContactReport:
        """Move the platform record to the survivor (we hold both claims).

        The survivor's CRM record is the truth for everything the platform did not change
        since its last sync; the platform's own unsynced changes are kept where they have
        a place in the survivor (top-level fields, custom fields, tags, references, new
        items); changes to items of the merged-away contact (its individuals, methods,
        address) have none: each becomes an open conflict on the survivor, so nothing is
        dropped silently. Item ids of the merged-away contact never reach CRM+: the
        relinked record holds the survivor's items.
        """
        contact_id = report.contact_id
        assert contact_id is not None
        survivor, survivor_record = self._follow(survivor)
        entry = self._mirror.get(contact_id)
        old_base = entry.record if entry is not None else None
        pending = diff(old_base, platform_view(local, old_base)) if old_base is not None else []
        document = self.project_for_platform(survivor_record)
        placed: list[FieldChange] = []
        stranded: list[FieldChange] = []
        for change in pending:
            if _fits_survivor(change, old_base, survivor_record):
                try:
                    document = apply_changes(document, [_without_ids(change)])
                    placed.append(change)
                    continue
                except PathError:
                    pass
            stranded.append(change)
        self._claims.check(contact_id)
        self._claims.check(survivor)
        moved = self._platform.relink(contact_id, survivor, document)
        # The survivor's base is its CRM record: the platform's placed changes now read as
        # what they are, platform changes, and are pushed by the survivor's sync.
        self._remember(survivor, survivor_record)
        now = self._clock.now()
        self._states.put(SyncState(contact_id, local.key, None, now, f"merged into {survivor}"))
        self._states.put(SyncState(survivor, moved.key, None, now, f"relinked from {contact_id}"))
        for change in stranded:
            self._conflicts.record(
                self._conflict_row(
                    survivor,
                    change.path,
                    base=change.old,
                    platform=change.new,
                    crm=None,
                    suggestion=None,
                    rule=RULE_MERGED_AWAY,
                    crm_record=survivor_record,
                    platform_modified=local.modified_at,
                )
            )
        report.written_to = self._platform.location(moved.key)
        report.notes.append(
            f"the platform record now holds contact {survivor}"
            + (f", with {len(placed)} unsynced platform change(s) kept" if placed else "")
        )
        if stranded:
            report.notes.append(
                f"{len(stranded)} unsynced platform change(s) concern items of the merged-away "
                f"contact and have no place in {survivor}: open conflicts "
                "(`syncengine conflicts list --open`)"
            )
        # Push the platform's kept changes to the survivor now, within our claims.
        follow = self.sync(survivor, local=moved)
        report.changes += follow.changes
        report.conflicts += follow.conflicts + [c.path for c in stranded]
        report.notes += follow.notes
        report.push = follow.push
        report.contact_id = contact_id
        return report

    def _follow(self, survivor: int) -> tuple[int, Record]:
        """The survivor's record, following further merges (A -> B -> C)."""
        for _ in range(MAX_MERGE_HOPS):
            try:
                return survivor, self._updater.fetch_contact(survivor)
            except CrmNotFound as exc:
                if exc.merged_into is None:
                    raise
                survivor = exc.merged_into
        raise CrmNotFound(
            f"more than {MAX_MERGE_HOPS} merges in a row; sync the survivor by hand",
            method="GET",
            url_path=f"/api/Contact/{survivor}",
        )

    def _note_merged(self, contact_id: int, survivor: int) -> None:
        """Remember that the contact is gone into ``survivor`` (its base stays as it was)."""
        known = self._mirror.get(contact_id)
        if known is None or known.merged_into == survivor:
            return
        self._mirror.put(
            MirrorEntry(
                contact_id=contact_id,
                record=known.record,
                modified_raw=known.modified_raw,
                content_hash=known.content_hash,
                fetched_at=known.fetched_at,
                archived=known.archived,
                merged_into=survivor,
            )
        )

    # -- bookkeeping ------------------------------------------------------------------------

    def _describe(self, report: ContactReport, plan: _Plan) -> None:
        rules = {r.path: r.rule.value for r in plan.result.resolutions}
        rules.update({c.path: RULE_OUTSIDE for c in plan.carried})
        if plan.carry.archived is not None:
            rules[ARCHIVE_FIELD] = RULE_OUTSIDE
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
        for path, base, platform, chosen in plan.overridden:
            # The platform had its own unsynced edit where a push wrote: the push stands
            # (a person's explicit change) and the edit it replaced is on record.
            row = self._conflict_row(
                contact_id,
                path,
                base=base,
                platform=platform,
                crm=chosen,
                suggestion=chosen,
                rule=RULE_OUTSIDE,
                crm_record=crm,
                platform_modified=local.modified_at,
            )
            self._decided_by_rule(row, chosen, RULE_OUTSIDE)
            self._conflicts.record(row)

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
        self._decided_by_rule(row, resolution.chosen, resolution.rule.value)
        return row

    def _decided_by_rule(self, row: ConflictRecord, chosen: Any, rule: str) -> None:
        row.status = ConflictStatus.AUTO
        row.resolution = jsonable(chosen)
        row.resolved_by = f"policy:{rule}"
        row.resolved_at = row.applied_at = self._clock.now()

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

    def remember(self, contact_id: int, record: Record) -> None:
        """mirror := ``record``: a state CRM+ answered with that the platform holds too
        (a create's answer, saved to the platform)."""
        self._remember(contact_id, record)

    def _remember(
        self,
        contact_id: int,
        record: Record,
        *,
        archived: bool | None = None,
        merged_into: int | None = None,
        previous: MirrorEntry | None = None,
    ) -> None:
        """The mirror's entry := ``record``. ``archived`` None keeps the entry's flag
        (``previous``: the entry as this sync read it, under the contact's claim, which
        spares reading it again)."""
        known = previous
        if archived is None and known is None:
            known = self._mirror.get(contact_id)
        self._mirror.put(
            MirrorEntry(
                contact_id=contact_id,
                record=record,
                modified_raw=record.get("modifiedDateTimeUtc"),
                content_hash=content_hash(record),
                fetched_at=self._clock.now(),
                archived=archived if archived is not None else (known.archived if known else False),
                merged_into=merged_into,
            )
        )

    def remember_synced(self, contact_id: int, saved: LocalRecord, outcome: str) -> None:
        """The platform record as of this sync: ``--all`` skips it until it changes. A
        record whose modification time is not settled yet (a later edit in the same tick
        would carry the same time) gets no stamp: the next run looks at it again."""
        stamp = saved.modified_at if saved.settled else None
        self._states.put(SyncState(contact_id, saved.key, stamp, self._clock.now(), outcome))


def _after(write: PlatformWrite, entry: JournalEntry) -> bool:
    """Was the platform write made after the outside write ``entry``?"""
    return (
        write.started_at is not None
        and entry.started_at is not None
        and write.started_at > entry.started_at
    )


def _holds(record: Record, path: str) -> bool:
    """Does ``record`` itself hold the field at ``path`` (not merely the schema know it)?"""
    parsed = parse_path(path)
    if not parsed.segments:
        return False
    try:
        holder = get_value(record, parsed.parent) if parsed.parent.segments else record
        if isinstance(parsed.last, Key):
            return isinstance(holder, Mapping) and parsed.last.name in holder
        get_value(record, parsed)
    except PathError:
        return False
    return True


def problem_details(exc: CrmValidationError) -> list[dict[str, Any]]:
    """The per-field complaints of a 400/422, as report data."""
    return [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]


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


def _decision(choice: ConflictRecord, record: Record, side: str) -> list[FieldChange]:
    """The change that brings ``record`` (``side``'s) to a data manager's chosen value. A
    path that no longer resolves on the record (its item is gone) has nothing left to
    change. A path naming several items there (a conflict opened because one side holds
    two people named alike) is refused, loudly, before anything is written: writing the
    value over one of them would be a guess, and over both a loss."""
    try:
        get_value(record, choice.path)
    except AmbiguousPath as exc:
        raise LocalDataError(
            f"the decision of conflict {choice.id} at {choice.path}",
            f"cannot be applied: on the {side} record, {exc.problem}. Tell them apart there "
            "(rename one), then sync again",
        ) from exc
    except PathError:
        pass  # gone, or not there yet: as below
    if not _resolves_above(record, choice.path):
        return []
    current = _value(record, choice.path)
    if current == choice.resolution:
        return []
    return [FieldChange(choice.path, "set", current, choice.resolution)]


def _applied_to_platform(contact_id: int, ours: Record, changes: Sequence[FieldChange]) -> Record:
    """The platform's record with ``changes`` applied, before anything is written. A
    change at a path naming two of its items (two people named alike, without ids: CRM+
    renamed or edited the one it holds) cannot be applied, since which of the two is
    CRM+'s cannot be told: the sync stops there, loudly, with nothing written on either
    side, until someone tells them apart."""
    try:
        return apply_changes(ours, changes)
    except AmbiguousPath as exc:
        raise LocalDataError(
            f"the platform record of contact {contact_id}",
            f"cannot take CRM+'s change at {exc.path}: {exc.problem}. Tell them apart on "
            "the platform (rename one), then sync again",
        ) from exc


_ABSENT = object()


def _bring(target: Record, source: Record, path: str) -> list[FieldChange]:
    """The change that makes ``target`` hold at ``path`` what ``source`` holds there: set,
    add or remove the item, or nothing when they already agree."""
    have = _present(target, path)
    want = _present(source, path)
    if have is _ABSENT and want is _ABSENT:
        return []
    if want is _ABSENT:
        return [FieldChange(path, "remove", have, None)]
    if have is _ABSENT:
        if isinstance(parse_path(path).last, Item):
            return [FieldChange(path, "add", None, want)]
        if not _resolves_above(target, path):
            return []
        return [FieldChange(path, "set", None, want)]
    if _same_at(target, path, have, want):
        return []
    return [FieldChange(path, "set", have, want)]


def _same_at(record: Record, path: str, a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same value at ``path`` once normalised, as the
    diff sees it (server-side normalisation is not a difference)."""
    if a == b:
        return True
    try:
        with_a = apply_changes(record, [FieldChange(path, "set", None, a)])
        with_b = apply_changes(record, [FieldChange(path, "set", None, b)])
    except PathError:
        return False
    return not diff(with_a, with_b)


def _present(record: Record, path: str) -> Any:
    try:
        return get_value(record, path)
    except PathError:
        return _ABSENT


def _resolves_above(record: Record, path: str) -> bool:
    """Whether everything above ``path`` exists in ``record`` (so a set can land)."""
    try:
        parent = parse_path(path).parent
    except PathError:
        return False
    if not parent.segments:
        return True
    try:
        get_value(record, parent)
    except PathError:
        return False
    return True


def _concrete(path: str, stored: Any) -> str | None:
    """A journaled path as CRM+ names it now: an appended item (``tags[+]``,
    ``contactReferences[+]``) by the identity of what was stored."""
    try:
        parsed = parse_path(path)
    except PathError:
        return None
    last = parsed.last
    if isinstance(last, Append):
        if stored is None or (isinstance(stored, dict) and stored.get("$removed")):
            return None
        try:
            return (parsed.parent + Path((item_segment(last.name, stored),))).render()
        except PathError:
            return None
    return path


def _fits_survivor(change: FieldChange, old_base: Record | None, survivor: Record) -> bool:
    """Whether a platform change made to the merged-away contact has a place in the
    survivor: never inside an item named by an id of the old contact, and inside the
    primary address only when both contacts share it."""
    if "[id=" in change.path:
        return False
    if change.path.startswith("address"):
        old_address = (old_base or {}).get("address") or {}
        new_address = survivor.get("address") or {}
        return old_address.get("id") is not None and old_address.get("id") == new_address.get("id")
    return True


def _without_ids(change: FieldChange) -> FieldChange:
    """An added item keeps no id: ids come from CRM+, and an old contact's are invalid."""
    if change.kind != "add" or not isinstance(change.new, dict):
        return change
    return FieldChange(change.path, change.kind, change.old, _strip_ids(change.new))


def _strip_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k not in ("id", "contactId")}
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    return value


def _without_archive(changes: Sequence[FieldChange]) -> list[FieldChange]:
    # isArchived is not a field of the Contact shape: the path language refuses it (it
    # has its own endpoints); the platform's copy gets it set directly below.
    return [c for c in changes if c.path != ARCHIVE_FIELD]


def _with_archive(record: Record, plan: _Plan) -> Record:
    for change in plan.to_platform:
        if change.path == ARCHIVE_FIELD:
            record = {**record, ARCHIVE_FIELD: change.new}
    return record


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
