"""In-memory twins of the SQL repositories, for tests and simulations: the mirror, the
journal, and the two-way sync's conflicts, sync state and cursors.

They keep the same contract as the SQL repositories (the suite in ``tests/store/`` runs
against both), including what a database does implicitly: values go through a JSON round
trip, so a caller mutating a record it passed in or got back changes nothing stored, and
non-JSON values fail here as they would there.
"""

import json
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from syncengine.domain.paths import field_of
from syncengine.domain.ports import (
    Claim,
    ConflictPage,
    ConflictQuery,
    ConflictRecord,
    ConflictStatus,
    Cursor,
    JobRun,
    JournalEntry,
    MirrorEntry,
    Outcome,
    PlatformWrite,
    Problem,
    Record,
    SyncState,
    WorkItem,
    suggested_side,
)
from syncengine.store.conflict_rules import APPLY_ALLOWED, REFRESHED, RESOLVE_ALLOWED, spell
from syncengine.store.failures import ConflictStateError, MissingEntryError
from syncengine.store.journal import CARRIED, UNRESOLVED
from syncengine.store.scoped import OrganizationScoped
from syncengine.store.tables import DEFAULT_ORGANIZATION
from syncengine.store.timestamps import as_utc, optional_utc, utcnow


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


_Key = TypeVar("_Key")
_Item = TypeVar("_Item")


# A token that refilled to 0.9999999999 is a whole one: float arithmetic must not leave a
# waiter sleeping ever shorter waits for the last billionth.
_EPSILON = 1e-9


class _MemoryRepository(OrganizationScoped, Generic[_Key, _Item]):
    """What every twin keeps: its items by key, and the lock that every method holds
    while it touches them (which makes a twin safe to share between threads)."""

    def __init__(self, organization: str = DEFAULT_ORGANIZATION) -> None:
        super().__init__(organization)
        self._items: dict[_Key, _Item] = {}
        self._lock = threading.Lock()


class _ClockedMemoryRepository(_MemoryRepository[_Key, _Item]):
    """A twin that stamps times itself, with ``clock``, like its SQL repository."""

    def __init__(
        self,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(organization)
        self._clock = clock


class _Numbered(Protocol):
    id: int | None


_NumberedItem = TypeVar("_NumberedItem", bound=_Numbered)


class _NumberedMemoryRepository(_ClockedMemoryRepository[int, _NumberedItem]):
    """A twin of a table whose ids the database assigns (the journal, the conflicts)."""

    # The last id handed out. A class default rather than an __init__ of its own (which
    # would repeat the public signature): the first ``+=`` gives each twin its own count.
    _last_id = 0

    def _add(self, item: _NumberedItem) -> int:
        """Give ``item`` the next id and keep it under that id (hold the lock).

        Ids go 1, 2, 3, ... and are never reused, like a fresh autoincrement column's.
        """
        self._last_id += 1
        item.id = self._last_id
        self._items[item.id] = item
        return item.id


class MemoryMirrorStore(_MemoryRepository[int, MirrorEntry]):
    """``MirrorStore`` in a dict; safe to share between threads."""

    def get(self, contact_id: int) -> MirrorEntry | None:
        with self._lock:
            entry = self._items.get(contact_id)
            return None if entry is None else _copy_entry(entry)

    def put(self, entry: MirrorEntry) -> None:
        stored = _copy_entry(entry)
        stored.fetched_at = as_utc(entry.fetched_at)
        with self._lock:
            self._items[entry.contact_id] = stored

    def add_new(self, entries: Sequence[MirrorEntry]) -> set[int]:
        inserted: set[int] = set()
        with self._lock:
            for entry in entries:
                if entry.contact_id not in self._items:
                    stored = _copy_entry(entry)
                    stored.fetched_at = as_utc(entry.fetched_at)
                    self._items[entry.contact_id] = stored
                    inserted.add(entry.contact_id)
        return inserted

    def set_archived(self, contact_id: int, archived: bool) -> None:
        with self._lock:
            entry = self._items.get(contact_id)
            if entry is None:
                raise MissingEntryError(
                    f"contact {contact_id} is not in the mirror of {self._organization!r}"
                )
            entry.archived = archived

    def all_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._items)

    def stamps_of(self, contact_ids: Collection[int]) -> dict[int, str | None]:
        with self._lock:
            return {key: self._items[key].modified_raw for key in contact_ids if key in self._items}

    def stream_ids(self) -> Iterator[int]:
        with self._lock:
            ids = sorted(self._items)
        yield from ids


def _copy_entry(entry: MirrorEntry) -> MirrorEntry:
    return replace(entry, record=_json_copy(entry.record))


class MemoryJournal(_NumberedMemoryRepository[JournalEntry]):
    """``Journal`` in a list; safe to share between threads."""

    def __init__(
        self,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(organization, clock=clock)
        # The platform writes live beside the entries, numbered on their own (a table
        # of their own in SQL).
        self._platform_writes: dict[int, PlatformWrite] = {}
        self._last_platform_write = 0

    def open(self, entry: JournalEntry) -> int:
        stored = _copy_journal_entry(entry)
        stored.outcome = Outcome(entry.outcome)
        stored.started_at = as_utc(entry.started_at or self._clock())
        stored.finished_at = None if entry.finished_at is None else as_utc(entry.finished_at)
        stored.carried_at = None if entry.carried_at is None else as_utc(entry.carried_at)
        with self._lock:
            return self._add(stored)

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
        outcome = Outcome(outcome)
        if outcome is Outcome.PENDING:
            raise ValueError("a journal entry cannot be closed as pending")
        finished_at = as_utc(self._clock())
        response_copy = None if response_after is None else _json_copy(dict(response_after))
        with self._lock:
            entry = self._items.get(entry_id)
            if entry is None:
                raise MissingEntryError(
                    f"journal entry {entry_id} does not exist in {self._organization!r}"
                )
            entry.outcome = outcome
            entry.finished_at = finished_at
            if response_copy is not None:
                entry.response_after = response_copy
            if error is not None:
                entry.error = error
            if note is not None:
                entry.note = note
            entry.concurrent_write_suspected = (
                entry.concurrent_write_suspected or concurrent_write_suspected
            )
            if contact_id is not None:
                entry.contact_id = contact_id

    def get(self, entry_id: int) -> JournalEntry | None:
        with self._lock:
            entry = self._items.get(entry_id)
            return None if entry is None else _copy_journal_entry(entry)

    def pending(self) -> Sequence[JournalEntry]:
        return self._select(lambda entry: entry.outcome is Outcome.PENDING)

    def unresolved(self) -> Sequence[JournalEntry]:
        return self._select(lambda entry: entry.outcome in UNRESOLVED)

    def pending_for_key(self, local_key: str) -> Sequence[JournalEntry]:
        return self._select(
            lambda entry: entry.local_key == local_key and entry.outcome in UNRESOLVED
        )

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]:
        return self._select(lambda entry: entry.contact_id == contact_id)

    def uncarried(self, contact_id: int | None = None) -> Sequence[JournalEntry]:
        return self._select(
            lambda entry: (
                entry.outside
                and entry.carried_at is None
                and entry.outcome in CARRIED
                and contact_id in (None, entry.contact_id)
            )
        )

    def open_platform_write(self, write: PlatformWrite) -> int:
        stored = PlatformWrite(
            contact_id=write.contact_id,
            values=_copy_platform_values(write.values),
            started_at=as_utc(write.started_at or self._clock()),
        )
        with self._lock:
            self._last_platform_write += 1
            stored.id = self._last_platform_write
            self._platform_writes[stored.id] = stored
            return stored.id

    def platform_writes(self, contact_id: int | None = None) -> Sequence[PlatformWrite]:
        with self._lock:
            return [
                replace(write, values=_copy_platform_values(write.values))
                for _, write in sorted(self._platform_writes.items())
                if contact_id in (None, write.contact_id)
            ]

    def close_platform_writes(self, contact_id: int, through: int) -> None:
        with self._lock:
            for write_id, write in list(self._platform_writes.items()):
                if write.contact_id == contact_id and write_id <= through:
                    del self._platform_writes[write_id]

    def last_applied(self) -> dict[int, datetime]:
        latest: dict[int, datetime] = {}
        with self._lock:
            for entry in self._items.values():
                if (
                    entry.contact_id is not None
                    and not entry.outside
                    and entry.outcome in CARRIED
                    and entry.started_at is not None
                ):
                    started = as_utc(entry.started_at)
                    if entry.contact_id not in latest or started > latest[entry.contact_id]:
                        latest[entry.contact_id] = started
        return latest

    def applied_since(self, contact_id: int, since: datetime) -> Sequence[JournalEntry]:
        after = as_utc(since)
        return self._select(
            lambda entry: (
                entry.contact_id == contact_id
                and not entry.outside
                and entry.outcome in CARRIED
                and entry.started_at is not None
                and as_utc(entry.started_at) > after
            )
        )

    def mark_carried(self, entry_ids: Sequence[int], at: datetime) -> None:
        stamp = as_utc(at)
        with self._lock:
            for entry_id in entry_ids:
                entry = self._items.get(entry_id)
                if entry is not None:
                    entry.carried_at = stamp

    def recent(self, limit: int = 50) -> Sequence[JournalEntry]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self._lock:
            newest_first = sorted(self._items, reverse=True)[:limit]
            return [_copy_journal_entry(self._items[key]) for key in newest_first]

    def _select(self, keep: Callable[[JournalEntry], bool]) -> list[JournalEntry]:
        with self._lock:
            return [
                _copy_journal_entry(self._items[key])
                for key in sorted(self._items)
                if keep(self._items[key])
            ]


def _copy_journal_entry(entry: JournalEntry) -> JournalEntry:
    return replace(
        entry,
        fields=_json_copy(list(entry.fields)),
        before=_json_copy(dict(entry.before)),
        after=_json_copy(dict(entry.after)),
        response_after=_json_copy(dict(entry.response_after)),
    )


class MemoryConflictStore(_NumberedMemoryRepository[ConflictRecord]):
    """``ConflictStore`` in a dict; safe to share between threads.

    Like the SQL store: at most one OPEN conflict per (contact, path), ``created_at`` and
    ``updated_at`` stamped with ``clock``, values through a JSON round trip.
    """

    def record(self, conflict: ConflictRecord) -> ConflictRecord:
        now = as_utc(self._clock())
        stored = _stored_conflict(conflict, now)
        with self._lock:
            existing = self._open_on(stored) if stored.status is ConflictStatus.OPEN else None
            if existing is not None:
                for name in REFRESHED:
                    setattr(existing, name, getattr(stored, name))
                existing.updated_at = now
                return _copy_conflict(existing)
            self._add(stored)
            return _copy_conflict(stored)

    def get(self, conflict_id: int) -> ConflictRecord | None:
        with self._lock:
            conflict = self._items.get(conflict_id)
            return None if conflict is None else _copy_conflict(conflict)

    def contacts_with(self, status: ConflictStatus, *, unapplied: bool = False) -> set[int]:
        wanted = ConflictStatus(status)
        with self._lock:
            return {
                c.contact_id
                for c in self._items.values()
                if c.status is wanted and not (unapplied and c.applied_at is not None)
            }

    def list(
        self, *, status: ConflictStatus | None = None, contact_id: int | None = None
    ) -> Sequence[ConflictRecord]:
        wanted = None if status is None else ConflictStatus(status)
        with self._lock:
            return [
                _copy_conflict(self._items[key])
                for key in sorted(self._items)
                if wanted in (None, self._items[key].status)
                and contact_id in (None, self._items[key].contact_id)
            ]

    def resolve(
        self,
        conflict_id: int,
        value: Any,
        *,
        resolved_by: str,
        at: datetime,
        resolved_from: str | None = None,
    ) -> ConflictRecord:
        resolution, resolved_at = _json_copy(value), as_utc(at)
        now = as_utc(self._clock())
        with self._lock:
            conflict = self._checked(conflict_id, "resolved", RESOLVE_ALLOWED)
            conflict.status = ConflictStatus.RESOLVED
            conflict.resolution = resolution
            conflict.resolved_by = resolved_by
            conflict.resolved_at = resolved_at
            conflict.resolved_from = resolved_from
            conflict.updated_at = now
            return _copy_conflict(conflict)

    def page(self, query: ConflictQuery) -> ConflictPage:
        with self._lock:
            chosen = [c for c in self._items.values() if _selected(c, query)]
        # Ties by id, in the same direction, as the SQL store orders them.
        chosen.sort(key=lambda c: (getattr(c, query.sort), c.id), reverse=query.descending)
        start = max(query.offset, 0)
        items = chosen[start : start + max(query.limit, 0)]
        return ConflictPage([_copy_conflict(c) for c in items], len(chosen))

    def fields(self, *, status: ConflictStatus | None = ConflictStatus.OPEN) -> dict[str, int]:
        query = ConflictQuery(status=status)
        with self._lock:
            chosen = [c.path for c in self._items.values() if _selected(c, query)]
        return dict(Counter(field_of(path) for path in chosen))

    def mark_applied(self, conflict_id: int, at: datetime) -> None:
        applied_at, now = as_utc(at), as_utc(self._clock())
        with self._lock:
            conflict = self._checked(conflict_id, "marked applied", APPLY_ALLOWED)
            if conflict.applied_at is None:
                conflict.applied_at = applied_at
            conflict.updated_at = now

    def _open_on(self, conflict: ConflictRecord) -> ConflictRecord | None:
        for candidate in self._items.values():
            if (
                candidate.status is ConflictStatus.OPEN
                and candidate.contact_id == conflict.contact_id
                and candidate.path == conflict.path
            ):
                return candidate
        return None

    def _checked(
        self, conflict_id: int, action: str, allowed: frozenset[ConflictStatus]
    ) -> ConflictRecord:
        conflict = self._items.get(conflict_id)
        if conflict is None:
            raise MissingEntryError(
                f"conflict {conflict_id} does not exist in {self._organization!r}"
            )
        if conflict.status not in allowed:
            raise ConflictStateError(conflict_id, conflict.status.value, action, spell(allowed))
        return conflict


def _selected(conflict: ConflictRecord, query: ConflictQuery) -> bool:
    """Does ``query`` select ``conflict``? (The SQL store's WHERE, in Python.)"""
    created = conflict.created_at
    return (
        query.status in (None, conflict.status)
        and query.contact_id in (None, conflict.contact_id)
        and query.field in (None, field_of(conflict.path))
        and query.rule in (None, conflict.rule)
        and query.suggests in (None, suggested_side(conflict))
        and (
            query.created_after is None or (created is not None and created >= query.created_after)
        )
        and (
            query.created_before is None or (created is not None and created < query.created_before)
        )
    )


def _stored_conflict(conflict: ConflictRecord, now: datetime) -> ConflictRecord:
    """What the SQL store would keep of ``conflict``: its own id and timestamps, UTC."""
    return replace(
        _copy_conflict(conflict),
        status=ConflictStatus(conflict.status),
        platform_modified=optional_utc(conflict.platform_modified),
        crm_modified=optional_utc(conflict.crm_modified),
        resolved_at=optional_utc(conflict.resolved_at),
        applied_at=optional_utc(conflict.applied_at),
        created_at=now,
        updated_at=now,
        id=None,
    )


def _copy_conflict(conflict: ConflictRecord) -> ConflictRecord:
    return replace(
        conflict,
        base=_json_copy(conflict.base),
        platform=_json_copy(conflict.platform),
        crm=_json_copy(conflict.crm),
        suggestion=_json_copy(conflict.suggestion),
        resolution=_json_copy(conflict.resolution),
    )


class MemorySyncStateStore(_MemoryRepository[int, SyncState]):
    """``SyncStateStore`` in a dict; safe to share between threads."""

    def get(self, contact_id: int) -> SyncState | None:
        with self._lock:
            state = self._items.get(contact_id)
            return None if state is None else replace(state)

    def put(self, state: SyncState) -> None:
        stored = replace(
            state,
            platform_modified=optional_utc(state.platform_modified),
            synced_at=optional_utc(state.synced_at),
        )
        with self._lock:
            self._items[state.contact_id] = stored

    def add_new(self, states: Sequence[SyncState]) -> None:
        for state in states:
            stored = replace(
                state,
                platform_modified=optional_utc(state.platform_modified),
                synced_at=optional_utc(state.synced_at),
            )
            with self._lock:
                self._items.setdefault(state.contact_id, stored)

    def all(self) -> Sequence[SyncState]:
        with self._lock:
            return [replace(self._items[key]) for key in sorted(self._items)]

    def stream_platform_stamps(self) -> Iterator[tuple[int, datetime | None]]:
        with self._lock:
            pairs = [(key, self._items[key].platform_modified) for key in sorted(self._items)]
        yield from pairs


class MemoryCursorStore(_ClockedMemoryRepository[str, Cursor]):
    """``CursorStore`` in a dict; safe to share between threads. ``put`` stamps
    ``updated_at`` with ``clock``, like the SQL store."""

    def get(self, name: str) -> Cursor | None:
        with self._lock:
            cursor = self._items.get(name)
            return None if cursor is None else _copy_cursor(cursor)

    def put(self, cursor: Cursor) -> None:
        stored = replace(_copy_cursor(cursor), updated_at=as_utc(self._clock()))
        with self._lock:
            self._items[cursor.name] = stored


def _copy_cursor(cursor: Cursor) -> Cursor:
    return replace(cursor, ids_at_high_water=_json_copy(list(cursor.ids_at_high_water)))


class MemoryClaimStore(_MemoryRepository[str, Claim]):
    """``ClaimStore`` in a dict; safe to share between threads (not between processes:
    that is what the SQL store is for)."""

    def acquire(
        self, subject: str, owner: str, *, until: datetime, now: datetime, purpose: str | None
    ) -> Claim | None:
        until, now = as_utc(until), as_utc(now)
        with self._lock:
            held = self._items.get(subject)
            if held is not None and held.owner != owner and held.until > now:
                return held
            self._items[subject] = Claim(subject, owner, until, now, purpose)
            return None

    def renew(self, owner: str, *, until: datetime) -> list[str]:
        until = as_utc(until)
        with self._lock:
            mine = sorted(s for s, claim in self._items.items() if claim.owner == owner)
            for subject in mine:
                self._items[subject] = replace(self._items[subject], until=until)
            return mine

    def release(self, subject: str, owner: str) -> None:
        with self._lock:
            held = self._items.get(subject)
            if held is not None and held.owner == owner:
                del self._items[subject]

    def release_all(self, owner: str) -> None:
        with self._lock:
            for subject in [s for s, claim in self._items.items() if claim.owner == owner]:
                del self._items[subject]

    def held(self, *, now: datetime) -> Sequence[Claim]:
        now = as_utc(now)
        with self._lock:
            return [self._items[s] for s in sorted(self._items) if self._items[s].until > now]


class MemoryWorkQueue(_MemoryRepository[int, WorkItem]):
    """``WorkQueue`` in a dict; safe to share between threads."""

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
        now = as_utc(now)
        fresh_copy = None if fresh is None else _json_copy(fresh)
        with self._lock:
            item = self._items.get(contact_id)
            if item is None:
                self._items[contact_id] = WorkItem(
                    contact_id, int(priority), reason, now, now, fresh=fresh_copy
                )
                return
            item.priority = min(item.priority, int(priority))
            item.due_at = min(item.due_at, now)
            if renew:
                item.reason = reason
                item.generation += 1
            if fresh_copy is not None:
                item.fresh = fresh_copy

    def get(self, contact_id: int) -> WorkItem | None:
        with self._lock:
            item = self._items.get(contact_id)
            return None if item is None else replace(item, fresh=_json_copy(item.fresh))

    def due(self, *, now: datetime, limit: int, max_priority: int | None = None) -> list[WorkItem]:
        now = as_utc(now)
        with self._lock:
            ready = [
                replace(item, fresh=_json_copy(item.fresh))
                for item in self._items.values()
                if item.due_at <= now and (max_priority is None or item.priority <= max_priority)
            ]
        ready.sort(key=lambda item: (item.priority, item.due_at, item.contact_id))
        return ready[:limit]

    def done(self, contact_id: int, generation: int) -> None:
        with self._lock:
            item = self._items.get(contact_id)
            if item is not None and item.generation == generation:
                del self._items[contact_id]

    def failed(
        self,
        contact_id: int,
        generation: int,
        *,
        error: str,
        retry_at: datetime,
        failed_at: datetime,
    ) -> None:
        with self._lock:
            item = self._items.get(contact_id)
            if item is not None and item.generation == generation:
                item.attempts += 1
                item.last_error = error
                item.due_at = as_utc(retry_at)
                item.failed_at = as_utc(failed_at)

    def defer(self, contact_id: int, generation: int, *, until: datetime) -> None:
        with self._lock:
            item = self._items.get(contact_id)
            if item is not None and item.generation == generation:
                item.due_at = as_utc(until)

    def depth(self) -> int:
        with self._lock:
            return len(self._items)

    def queued(self, *, max_priority: int) -> dict[int, datetime | None]:
        with self._lock:
            return {
                item.contact_id: item.failed_at
                for item in self._items.values()
                if item.priority <= max_priority
            }

    def failing(self) -> list[WorkItem]:
        with self._lock:
            found = [replace(item) for item in self._items.values() if item.attempts > 0]
        found.sort(key=lambda item: (-item.attempts, item.contact_id))
        return found


class MemoryRunLog(_MemoryRepository[str, JobRun]):
    """``RunLog`` in a dict; safe to share between threads."""

    def start(self, run: JobRun) -> None:
        with self._lock:
            self._items[run.run_id] = replace(
                run, started_at=as_utc(run.started_at), counts=dict(run.counts)
            )

    def finish(
        self,
        run_id: str,
        *,
        outcome: str,
        at: datetime,
        counts: Mapping[str, int] | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            run = self._items.get(run_id)
            if run is None:
                raise MissingEntryError(f"no job run {run_id!r} in {self._organization!r}")
            run.outcome, run.finished_at, run.error = outcome, as_utc(at), error
            if counts is not None:
                run.counts = dict(counts)

    def latest(self, limit: int = 20) -> list[JobRun]:
        with self._lock:
            runs = [replace(run, counts=dict(run.counts)) for run in self._items.values()]
        runs.sort(key=lambda run: run.started_at, reverse=True)
        return runs[:limit]


class MemoryProblemLog(_MemoryRepository[str, list[Problem]]):
    """``ProblemLog`` in a dict of each subject's problems (the open one last)."""

    _last_id = 0  # as in _NumberedMemoryRepository: the first += gives each its own

    def report(self, problem: Problem, *, at: datetime) -> None:
        when = as_utc(at)
        with self._lock:
            history = self._items.setdefault(problem.subject, [])
            current = history[-1] if history and history[-1].resolved_at is None else None
            fresh = replace(problem, details=_json_copy(problem.details), resolved_at=None)
            if current is None:
                self._last_id += 1
                fresh.count, fresh.first_seen, fresh.last_seen = 1, when, when
                fresh.id = self._last_id
                history.append(fresh)
            else:
                fresh.count, fresh.first_seen, fresh.last_seen = (
                    current.count + 1,
                    current.first_seen,
                    when,
                )
                fresh.id = current.id
                history[-1] = fresh

    def resolve(self, subject: str, *, at: datetime) -> None:
        with self._lock:
            history = self._items.get(subject, [])
            if history and history[-1].resolved_at is None:
                history[-1].resolved_at = as_utc(at)

    def list(
        self,
        *,
        only_open: bool = True,
        since: datetime | None = None,
        contact_id: int | None = None,
    ) -> list[Problem]:
        with self._lock:
            found = [
                replace(p, details=_json_copy(p.details))
                for history in self._items.values()
                for p in history
                if (not only_open or p.resolved_at is None)
                and (since is None or (p.last_seen is not None and p.last_seen >= since))
                and contact_id in (None, p.contact_id)
            ]
        found.sort(key=lambda p: (p.last_seen, p.id), reverse=True)
        return found


class MemoryBudgetLedger(OrganizationScoped):
    """``BudgetLedger`` in memory: one process's bucket (the CLI's, tests')."""

    def __init__(self, organization: str = DEFAULT_ORGANIZATION) -> None:
        super().__init__(organization)
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._updated_at = 0.0

    def take(self, *, now: float, rate: float, capacity: float) -> float:
        with self._lock:
            held = capacity if self._tokens is None else self._tokens
            tokens = min(capacity, held + max(0.0, now - self._updated_at) * rate)
            # Never back in time (see SqlBudgetLedger.take).
            self._updated_at = max(now, self._updated_at)
            if tokens >= 1.0 - _EPSILON:
                self._tokens = max(tokens - 1.0, 0.0)
                return 0.0
            self._tokens = tokens
        return (1.0 - tokens) / rate if rate > 0 else float("inf")

    def correct(self, *, now: float, available: float) -> None:
        with self._lock:
            if self._tokens is None:
                self._updated_at = now
            if self._tokens is None or self._tokens > available:
                self._tokens = max(available, 0.0)


def _copy_platform_values(values: Mapping[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    return {
        path: (_json_copy(before), _json_copy(after)) for path, (before, after) in values.items()
    }
