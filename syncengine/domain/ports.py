"""The ports: what the engine needs from the outside world, as Protocols.

Every side effect (CRM+ over HTTP, the mirror and journal database, the clock) sits
behind one of these, so the engine can be driven by the real adapters, by in-memory
twins, or by a fault-injecting simulation without a rewrite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal, Protocol

from syncengine.errors import LocalDataError

# A CRM+ record exactly as JSON: plain dicts, lists and scalars. Unknown keys survive.
Record = dict[str, Any]


@dataclass(frozen=True)
class RateBudget:
    """What the CRM last said about the shared hourly request budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # Unix seconds


@dataclass(frozen=True)
class QueryPage:
    """One page of ``POST /api/Contact/Query/FullContact``."""

    items: list[Record]
    total: int


class CrmPort(Protocol):
    """The CRM+ endpoints a contact sync uses. Errors are ``syncengine.errors.CrmError``s."""

    def get_contact(self, contact_id: int) -> Record: ...

    def put_contact(self, contact_id: int, body: Record) -> Record: ...

    def create_contact(self, body: Record) -> Record: ...

    def find_contact_by_email(self, email: str) -> Record | None: ...

    def find_contact_by_reference(self, source: str, reference_id: str) -> Record | None: ...

    def query_full_contacts(
        self, query: Record, *, skip: int = 0, take: int = 1000
    ) -> QueryPage: ...

    def archive_contact(self, contact_id: int) -> None: ...

    def unarchive_contact(self, contact_id: int) -> None: ...

    def get_address(self, address_id: int) -> Record: ...

    def put_address(self, address_id: int, body: Record) -> Record: ...

    def list_addresses(self, contact_id: int) -> list[Record]: ...

    def get_individual(self, individual_id: int) -> Record: ...

    def put_individual(self, individual_id: int, body: Record) -> Record: ...

    @property
    def requests_made(self) -> int: ...

    @property
    def budget(self) -> RateBudget: ...

    def admit(self, requests: int) -> AbstractContextManager[None]:
        """Enter a unit of work (one contact) that may need up to ``requests`` requests;
        ``CrmBudgetExhausted`` before anything is sent when the budget cannot take it."""
        ...


@dataclass
class MirrorEntry:
    """The last-known CRM+ state of one contact: the merge base of the next sync."""

    contact_id: int
    record: Record
    modified_raw: str | None  # modifiedDateTimeUtc as the CRM rendered it
    content_hash: str
    fetched_at: datetime
    archived: bool = False
    merged_into: int | None = None


class MirrorStore(Protocol):
    def get(self, contact_id: int) -> MirrorEntry | None: ...

    def put(self, entry: MirrorEntry) -> None: ...

    def set_archived(self, contact_id: int, archived: bool) -> None: ...

    def all_ids(self) -> list[int]: ...

    def add_new(self, entries: Sequence[MirrorEntry]) -> set[int]:
        """Insert the entries of contacts not mirrored yet, in one transaction; the ids
        inserted (a contact mirrored meanwhile keeps its entry)."""
        ...

    def stamps_of(self, contact_ids: Collection[int]) -> dict[int, str | None]:
        """The ``modifiedDateTimeUtc`` of those of ``contact_ids`` the mirror holds, in
        one read: what one bulk page's records are compared with."""
        ...

    def stream_ids(self) -> Iterator[int]:
        """Every mirrored contact id, ascending, in one read that holds no list of them
        (a run keeps them in an array of its own: ``engine.known_contacts``)."""
        ...


class Outcome(StrEnum):
    PENDING = "pending"  # intent written, the remote write not yet known to have happened
    OK = "ok"
    FAILED = "failed"  # the CRM refused it: nothing changed remotely
    UNKNOWN = "unknown"  # no answer: the write may or may not have happened
    MISMATCH = "mismatch"  # accepted, but verification did not find the intended state
    DRY_RUN = "dry-run"


@dataclass
class JournalEntry:
    """One remote write attempt. Written as PENDING before the request, closed after."""

    contact_id: int | None  # None only for a create whose contact id is not known yet
    method: str
    endpoint: str
    fields: list[str]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    outcome: Outcome = Outcome.PENDING
    error: str | None = None
    note: str | None = None
    concurrent_write_suspected: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = None
    response_after: Mapping[str, Any] = field(default_factory=dict)
    # The platform's key for the contact: how a create is found again after a crash.
    local_key: str | None = None
    # A write made outside the two-way sync (``push``, ``archive``...): the platform has
    # not seen it, so the contact's next sync carries CRM+'s value at these fields to the
    # platform (never the platform's older one back) and then sets ``carried_at``.
    outside: bool = False
    carried_at: datetime | None = None


@dataclass
class PlatformWrite:
    """A write the sync is about to make to the platform, journaled before it is made.

    The platform and the engine's database are two stores: a run can die after the
    platform took the write and before the mirror (the merge base) or the journal
    learnt of it. The contact's next sync reads the write back from here and, field by
    field, from the platform itself: where the platform no longer holds ``before``, the
    write landed (or a later edit superseded it), so the base takes ``after``, the value
    both sides held, and an outside write carried there is not carried again.
    """

    contact_id: int
    # path -> (the platform's value before the write, the value written)
    values: Mapping[str, tuple[Any, Any]]
    started_at: datetime | None = None
    id: int | None = None


class Atomic(Protocol):
    """Runs the store calls made inside (in this thread) as one: all take effect or none,
    at one commit's cost. Never around a remote call or a platform write, since what must
    be durable before one (a journal entry) would not be until the block ends.
    ``writing=False``: the block only reads (it never holds up writers)."""

    def __call__(self, *, writing: bool = True) -> AbstractContextManager[None]: ...


def not_atomic(*, writing: bool = True) -> AbstractContextManager[None]:
    """``Atomic`` for stores without transactions (the in-memory twins): each call on its
    own."""
    return nullcontext()


class Journal(Protocol):
    def open(self, entry: JournalEntry) -> int: ...

    def close(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        response_after: Mapping[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        concurrent_write_suspected: bool = False,
        contact_id: int | None = None,
    ) -> None:
        """Close an entry; ``contact_id``: a create's new id, once CRM+ gave it."""
        ...

    def get(self, entry_id: int) -> JournalEntry | None: ...

    def pending(self) -> Sequence[JournalEntry]: ...

    def unresolved(self) -> Sequence[JournalEntry]:
        """PENDING and UNKNOWN entries: writes whose effect must be read from CRM+."""
        ...

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]: ...

    def uncarried(self, contact_id: int | None = None) -> Sequence[JournalEntry]:
        """Outside writes CRM+ applied (OK or MISMATCH) whose fields the platform has not
        been given yet (``carried_at`` unset), oldest first; of one contact, or all."""
        ...

    def applied_since(self, contact_id: int, since: datetime) -> Sequence[JournalEntry]:
        """The sync's own writes (not outside ones) to the contact that CRM+ applied (OK
        or MISMATCH), started after ``since``, oldest first."""
        ...

    def last_applied(self) -> dict[int, datetime]:
        """Per contact, when the latest of the sync's own writes (not outside ones) that
        CRM+ applied (OK or MISMATCH) started: one read for a whole run's plan."""
        ...

    def mark_carried(self, entry_ids: Sequence[int], at: datetime) -> None: ...

    def open_platform_write(self, write: PlatformWrite) -> int:
        """Journal a platform write before it is made; returns its id."""
        ...

    def platform_writes(self, contact_id: int | None = None) -> Sequence[PlatformWrite]:
        """The platform writes not closed yet (a run died before its sync of the contact
        ended), oldest first; of one contact, or all."""
        ...

    def close_platform_writes(self, contact_id: int, through: int) -> None:
        """The contact's platform writes up to id ``through`` are settled: the mirror
        and the journal have caught up with them."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


# -- the local platform (the partner's side of the sync) ---------------------------------


@dataclass(frozen=True)
class LocalRecord:
    """The platform's copy of one contact, in the CRM+ Contact shape.

    Only the fields the platform manages are present: an absent field is not managed and
    its absence never clears anything in CRM+.
    """

    key: str  # the platform's own key: "<contactId>" once linked, or its new-contact key
    contact_id: int | None  # the CRM+ id; None for a contact not yet created in CRM+
    record: Record
    modified_at: datetime  # aware UTC: when the platform last changed this record
    # A platform that keeps flat columns (the sql adapter's column mapping) reports leaf
    # values by path instead (``{"contactIndividuals[isPrimary=true].firstName": "Ann"}``);
    # the engine places them on the base record, resolving selectors there. ``record`` is
    # then empty.
    leaves: Mapping[str, Any] | None = None
    # False when ``modified_at`` cannot yet tell this version from a later one: it is
    # within the platform's timestamp resolution of now (a file written in the same tick
    # of a coarse clock as a later edit carries the same mtime). The engine then records
    # no stamp for it, so the next run looks at the record again instead of trusting its
    # time (git's "racily clean" entries). Platforms with exact stamps leave it True.
    settled: bool = field(default=True, compare=False)


@dataclass(frozen=True)
class UnchangedRecord:
    """A linked record a scan did not read whole, because its caller knew it as it is
    (see ``LocalPlatform.scan_changed``): its key, contact id and modification time only.
    """

    key: str
    contact_id: int
    modified_at: datetime  # what a full read would report as ``LocalRecord.modified_at``


# Whether the caller already knows the linked record ``contact_id`` as it is when the
# platform says it was last modified at ``modified_at`` (aware UTC).
UnchangedTest = Callable[[int, datetime], bool]


def nothing_unchanged(contact_id: int, modified_at: datetime) -> bool:
    """The ``UnchangedTest`` that reads every record whole: ``scan`` as ``scan_changed``."""
    return False


def whole_records(
    scan_changed: Callable[
        [UnchangedTest], Iterator[LocalRecord | UnchangedRecord | LocalDataError]
    ],
) -> Iterator[LocalRecord | LocalDataError]:
    """``scan`` from an adapter's ``scan_changed``: every record read whole."""
    for item in scan_changed(nothing_unchanged):
        if not isinstance(item, UnchangedRecord):  # always: nothing is unchanged
            yield item


class LocalPlatform(Protocol):
    """The partner platform's side. Errors: ``LocalDataError`` for one malformed record
    (reported and skipped, never overwritten), ``LocalConflictError`` when the record
    changed on the platform since it was read (the write is refused, nothing is lost)."""

    def scan(self) -> Iterator[LocalRecord | LocalDataError]:
        """Every record the platform holds, linked and new; malformed ones as errors."""
        ...

    def scan_changed(
        self, unchanged: UnchangedTest
    ) -> Iterator[LocalRecord | UnchangedRecord | LocalDataError]:
        """``scan``, except that a linked record for which ``unchanged(contact_id,
        modified_at)`` holds comes as an ``UnchangedRecord``, not read or checked whole:
        a run over a platform it mostly left as it found it parses only what changed.
        ``modified_at`` is the one a full read would report; a record whose contact id or
        modification time cannot be read, or that another record shares, is read whole
        (and reported as malformed as ``scan`` would)."""
        ...

    def get(self, contact_id: int) -> LocalRecord | None: ...

    def get_new(self, key: str) -> LocalRecord | None:
        """The new (not yet linked) record ``key``, or None if there is none any more (it
        was linked meanwhile, or removed). ``LocalDataError`` if it is malformed."""
        ...

    def location(self, key: str) -> str:
        """Where the record ``key`` lives, for people: a file, a table row."""
        ...

    def save(
        self, contact_id: int, record: Record, *, expected_modified: datetime | None
    ) -> LocalRecord:
        """Write the platform's COMPLETE new version of a linked contact (what it held,
        with the CRM-side changes applied): keys it lacks are kept, array items it lacks
        are removed (see ``syncengine.local.overlay``).

        ``expected_modified``: the ``modified_at`` the engine read; if the platform record
        changed since, raise ``LocalConflictError`` instead of overwriting. None: the
        record must not exist yet (a CRM contact new to the platform)."""
        ...

    def link(self, key: str, contact_id: int) -> LocalRecord:
        """A new platform record was created in (or found in) CRM+ as ``contact_id``."""
        ...

    def relink(
        self, contact_id: int, survivor_id: int, record: Record | None = None
    ) -> LocalRecord:
        """CRM+ merged contact ``contact_id`` into ``survivor_id``: the platform record
        linked to ``contact_id`` now belongs to the survivor. Returns it as now stored.

        ``record`` None: only the link moves: the contact id (and a top-level ``id`` of a
        document, if it has one) becomes ``survivor_id``; nothing else changes.
        ``modified_at`` is kept when only the link moves and moves forward when a stored
        ``id`` is rewritten. ``record`` given: in the same step, the record's content
        becomes ``record`` (the survivor's complete version, with ``save``'s overlay
        rules), and ``modified_at`` moves forward.

        ``LocalConflictError``: a record already has ``survivor_id`` (the platform holds
        both contacts; nothing is changed), or the platform holds no record for
        ``contact_id`` any more, or the record changed while being relinked.
        ``LocalDataError``: the record is malformed (never touched). ``ValueError``:
        ``survivor_id`` is ``contact_id``."""
        ...


# -- two-way sync state: conflicts, per-contact sync state, pull cursors -----------------


class ConflictStatus(StrEnum):
    OPEN = "open"  # waiting for a data manager; the path is frozen in both directions
    RESOLVED = "resolved"  # a data manager chose; applied on the next sync of the contact
    AUTO = "auto"  # a both-sides change a policy decided: recorded for review, not frozen


@dataclass
class ConflictRecord:
    """A field both sides changed (or a change no policy may decide), for review."""

    contact_id: int
    path: str
    base: Any
    platform: Any
    crm: Any
    platform_modified: datetime | None
    crm_modified: datetime | None
    platform_author: str | None
    crm_author: str | None  # modifiedByUser of the CRM item that holds the field
    suggestion: Any  # the value the policy would choose (``manual``: the CRM value)
    rule: str  # what decided or would decide: newest / crm / platform / manual / duplicate...
    status: ConflictStatus = ConflictStatus.OPEN
    resolution: Any = None  # the chosen value (JSON), once resolved
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolved_from: str | None = None  # where the decision came from: "review 10.0.0.5", "cli"
    applied_at: datetime | None = None  # when the resolution reached both sides
    created_at: datetime | None = None
    updated_at: datetime | None = None
    id: int | None = None


ConflictSort = Literal["id", "created_at", "contact_id", "path", "rule"]
SuggestedSide = Literal["platform", "crm", "other"]


@dataclass(frozen=True)
class ConflictQuery:
    """What the review queue asks for: filters, an order and a page."""

    status: ConflictStatus | None = ConflictStatus.OPEN
    contact_id: int | None = None
    # A field as ``field_of`` spells it (item selectors as ``[]``): every item's conflicts.
    field: str | None = None
    rule: str | None = None
    suggests: SuggestedSide | None = None  # which side the suggestion equals
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: ConflictSort = "id"
    descending: bool = False
    offset: int = 0
    limit: int = 50


def suggested_side(conflict: ConflictRecord) -> SuggestedSide:
    """Which side's value the suggestion is: the platform's, CRM+'s (also when both sides
    hold it), or neither."""
    # Compared as JSON text: Python's ``1 == True == 1.0`` would call different values equal.
    suggestion = _json_text(conflict.suggestion)
    if suggestion == _json_text(conflict.crm):
        return "crm"
    if suggestion == _json_text(conflict.platform):
        return "platform"
    return "other"


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class ConflictPage:
    items: list[ConflictRecord]
    total: int


class ConflictStore(Protocol):
    def record(self, conflict: ConflictRecord) -> ConflictRecord:
        """Insert, or for an OPEN conflict on the same contact and path already open:
        refresh its values (never a second open row for one field)."""
        ...

    def get(self, conflict_id: int) -> ConflictRecord | None: ...

    def list(
        self, *, status: ConflictStatus | None = None, contact_id: int | None = None
    ) -> Sequence[ConflictRecord]: ...

    def resolve(
        self,
        conflict_id: int,
        value: Any,
        *,
        resolved_by: str,
        at: datetime,
        resolved_from: str | None = None,
    ) -> ConflictRecord: ...

    def page(self, query: ConflictQuery) -> ConflictPage:
        """One page of the conflicts ``query`` selects, and how many it selects in all."""
        ...

    def contacts_with(self, status: ConflictStatus, *, unapplied: bool = False) -> set[int]:
        """The contacts with a conflict of ``status`` (``unapplied``: only those whose
        decision no sync has applied yet), in one read."""
        ...

    def fields(self, *, status: ConflictStatus | None = ConflictStatus.OPEN) -> dict[str, int]:
        """How many conflicts (of ``status``) each field (``field_of`` their path) has:
        the review page's field filter, counted in the store."""
        ...

    def mark_applied(self, conflict_id: int, at: datetime) -> None: ...


@dataclass
class SyncState:
    """Where one contact's sync stands with the platform."""

    contact_id: int
    platform_key: str | None  # the platform's key for the contact
    platform_modified: datetime | None  # the platform record's modified_at at the last sync
    synced_at: datetime | None
    last_outcome: str | None = None
    last_error: str | None = None


class SyncStateStore(Protocol):
    def get(self, contact_id: int) -> SyncState | None: ...

    def put(self, state: SyncState) -> None: ...

    def add_new(self, states: Sequence[SyncState]) -> None:
        """Insert the states of contacts without one, in one transaction (a contact that
        has one meanwhile keeps it)."""
        ...

    def all(self) -> Sequence[SyncState]: ...

    def stream_platform_stamps(self) -> Iterator[tuple[int, datetime | None]]:
        """Each contact's ``platform_modified`` (all a run needs of every state to tell
        which platform records changed since their last sync), as ``(contact_id,
        platform_modified)`` pairs by ascending contact id, in one read that holds no
        dict of them."""
        ...


@dataclass
class Cursor:
    """An incremental-pull high-water mark and the ids already seen at it (so a
    day-granular filter that returns them again does not make them look changed)."""

    name: str
    high_water: str | None  # a raw CRM timestamp
    ids_at_high_water: list[int] = field(default_factory=list)
    updated_at: datetime | None = None


class CursorStore(Protocol):
    def get(self, name: str) -> Cursor | None: ...

    def put(self, cursor: Cursor) -> None: ...


# -- run claims: one worker per contact at a time, across processes -------------------------


@dataclass(frozen=True)
class Claim:
    """Who is working on a subject (``contact:4821``, ``new:<platform key>``) and until
    when the claim holds unless renewed. An expired claim is free for anyone to take: its
    holder crashed or stalled."""

    subject: str
    owner: str  # host:pid:random of the process, unique per run
    until: datetime
    acquired_at: datetime
    purpose: str | None = None  # what the holder is doing ("sync --all", "push"...)


class ClaimStore(Protocol):
    """Claims shared by every process on one database (SQLite or PostgreSQL). Taking a
    claim is one atomic statement, so of several racing processes exactly one wins."""

    def acquire(
        self, subject: str, owner: str, *, until: datetime, now: datetime, purpose: str | None
    ) -> Claim | None:
        """Take ``subject`` for ``owner`` until ``until`` if it is free, expired at ``now``,
        or already ``owner``'s. Returns None when taken; else the claim that stands in the
        way (another owner's, still valid)."""
        ...

    def renew(self, owner: str, *, until: datetime) -> list[str]:
        """Extend every claim ``owner`` still holds to ``until``; returns their subjects."""
        ...

    def release(self, subject: str, owner: str) -> None:
        """Give ``subject`` back if ``owner`` holds it (an expired claim included)."""
        ...

    def release_all(self, owner: str) -> None: ...

    def held(self, *, now: datetime) -> Sequence[Claim]:
        """Every claim still valid at ``now`` (for ``status`` and messages)."""
        ...


# -- the daemon: the work queue and the runs of its jobs ------------------------------------


class Priority(IntEnum):
    """What goes first when the request budget runs low (lower first)."""

    PUSH = 0  # a platform change, a webhook, an enqueue: someone is waiting for it
    PULL = 1  # a change CRM+ made, seen by the bulk query
    RECONCILE = 2  # a drift the reconciliation found


@dataclass
class WorkItem:
    """A contact waiting to be synced. One item per contact: adding it again merges."""

    contact_id: int
    priority: int
    reason: str  # platform | crm | webhook | enqueue | reconcile (the latest one)
    due_at: datetime  # not before then (a retry waits out its backoff)
    enqueued_at: datetime
    attempts: int = 0  # failed attempts so far
    last_error: str | None = None
    # The record the bulk query returned, when a pull saw it: a sync can use it instead of
    # a GET if CRM+ has not changed the contact since (its stamp is still newer than the base).
    fresh: Record | None = None
    generation: int = 0  # bumped by every add: "done" removes only what was picked
    # When its latest attempt failed (None: never failed, or failed before the column
    # existed). The push job retries at once a contact whose record changed since.
    failed_at: datetime | None = None


class WorkQueue(Protocol):
    """Contacts to sync, shared by every worker on the database; durable (a webhook's
    delivery is answered once its contact is in here)."""

    def add(
        self,
        contact_id: int,
        *,
        reason: str,
        priority: int,
        now: datetime,
        fresh: Record | None = None,
        renew: bool = True,
    ) -> None:
        """Queue the contact, or merge into its item: due at once, the more urgent
        priority, the newer fresh record; failed attempts are kept.

        ``renew``: this is news a sync in progress may have missed (a webhook, a typed
        request), so the item survives that sync (its generation goes up). A job that
        finds the contact still changed, because it is queued and not synced yet, passes
        False: the sync to come reads both sides anyway, and re-queueing it after every
        look would make every worker sync it again."""
        ...

    def get(self, contact_id: int) -> WorkItem | None:
        """The contact's item as it is now (a worker checks it is still due, and still the
        one it picked, before syncing)."""
        ...

    def due(self, *, now: datetime, limit: int, max_priority: int | None = None) -> list[WorkItem]:
        """Items due at ``now``, most urgent first (priority, then due time)."""
        ...

    def done(self, contact_id: int, generation: int) -> None:
        """Remove the item if it was not added again since it was picked (then it stays,
        so a change that arrived during the sync is synced too)."""
        ...

    def failed(
        self,
        contact_id: int,
        generation: int,
        *,
        error: str,
        retry_at: datetime,
        failed_at: datetime,
    ) -> None:
        """One more failed attempt, made at ``failed_at``: due again at ``retry_at``
        (unless added again since)."""
        ...

    def defer(self, contact_id: int, generation: int, *, until: datetime) -> None:
        """Not attempted (the request budget is spent): due again at ``until``, the
        budget's reset, with no failed attempt counted (unless added again since)."""
        ...

    def depth(self) -> int: ...

    def queued(self, *, max_priority: int) -> dict[int, datetime | None]:
        """Every contact queued at ``max_priority`` or more urgent, with when its latest
        attempt failed (None: no failure recorded), in one read."""
        ...

    def failing(self) -> list[WorkItem]:
        """Items with failed attempts, most attempts first (for ``status``)."""
        ...


@dataclass
class JobRun:
    """One run of a daemon job (push, pull, reconcile, work), for ``status`` and metrics."""

    job: str
    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None  # ok | failed | stopped | deferred (request budget)
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    worker: str | None = None


class RunLog(Protocol):
    def start(self, run: JobRun) -> None: ...

    def finish(
        self,
        run_id: str,
        *,
        outcome: str,
        at: datetime,
        counts: Mapping[str, int] | None = None,
        error: str | None = None,
    ) -> None: ...

    def latest(self, limit: int = 20) -> list[JobRun]:
        """The latest runs, newest first."""
        ...


class BudgetLedger(Protocol):
    """The organisation's request budget as a token bucket shared by every process on the
    database: each request takes a token; tokens come back at the hourly rate. So four
    daemon workers spend one budget between them, not four."""

    def take(self, *, now: float, rate: float, capacity: float) -> float:
        """Take one token: 0.0 when the request may go now, else the seconds until the
        next token (nothing taken). ``now`` in Unix seconds; ``rate`` tokens a second."""
        ...

    def correct(self, *, now: float, available: float) -> None:
        """CRM+ said how many requests this organisation has left (minus the reserve):
        the bucket never holds more than that (other integrations spend it too)."""
        ...


# -- problems: what failed that is not a conflict -----------------------------------------


class ProblemKind(StrEnum):
    """Why a contact or platform record could not be synced (beside conflicts)."""

    REFUSED = "refused"  # CRM+ refused the write: 400/422, with per-field details
    DUPLICATE = "duplicate"  # 409: a value (an email) belongs to another contact
    MERGED = "merged"  # merged in CRM+ into another contact (the platform was relinked)
    MISSING = "missing"  # 404: the contact is gone from CRM+ and was merged into none
    MISMATCH = "mismatch"  # the write was accepted but verification found another state
    MALFORMED = "malformed"  # the platform's record cannot be read (bad JSON, wrong types)
    FAILED = "failed"  # anything else for that one contact (a timeout, a 5xx...)


@dataclass
class Problem:
    """The latest failure of one subject (``contact:4821``, ``new:<key>``).

    One row per subject: a failure that repeats refreshes ``message``/``last_seen`` and
    counts up; the subject's next successful sync resolves it (``resolved_at``)."""

    subject: str
    kind: ProblemKind
    message: str
    contact_id: int | None = None
    key: str | None = None  # the platform's key (a file name, a row key) where known
    # Per-field details of a refused write: ``{"field": ..., "message": ...}``.
    details: list[dict[str, Any]] = field(default_factory=list)
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_at: datetime | None = None
    id: int | None = None


class ProblemLog(Protocol):
    def report(self, problem: Problem, *, at: datetime) -> None:
        """Record ``problem`` as its subject's open problem (refreshing one already open)."""
        ...

    def resolve(self, subject: str, *, at: datetime) -> None:
        """The subject synced: its open problem (if any) is resolved. Cheap when none."""
        ...

    def list(
        self,
        *,
        only_open: bool = True,
        since: datetime | None = None,
        contact_id: int | None = None,
    ) -> list[Problem]:
        """Problems, newest first; ``since`` keeps those seen at or after it."""
        ...
