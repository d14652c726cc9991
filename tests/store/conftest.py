"""The store contract suite runs every test against each implementation: memory, SQLite
and PostgreSQL (the in-memory twins must behave like the real thing)."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import Engine

from syncengine.domain.ports import (
    BudgetLedger,
    ClaimStore,
    ConflictRecord,
    ConflictStore,
    CursorStore,
    JournalEntry,
    MirrorEntry,
    MirrorStore,
    Outcome,
    PlatformWrite,
    ProblemLog,
    RunLog,
    SyncStateStore,
    WorkQueue,
)
from syncengine.store import (
    MemoryBudgetLedger,
    MemoryClaimStore,
    MemoryConflictStore,
    MemoryCursorStore,
    MemoryJournal,
    MemoryMirrorStore,
    MemoryProblemLog,
    MemoryRunLog,
    MemorySyncStateStore,
    MemoryWorkQueue,
    SqlBudgetLedger,
    SqlClaimStore,
    SqlConflictStore,
    SqlCursorStore,
    SqlJournal,
    SqlMirrorStore,
    SqlProblemLog,
    SqlRunLog,
    SqlSyncStateStore,
    SqlWorkQueue,
)
from tests.fixtures.db import backend_params, fresh_database_url, migrated_engine

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class ListingJournal(Protocol):
    """Journal plus what both implementations add: get, recent, unresolved,
    pending_for_key, and close(contact_id=...)."""

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
    ) -> None: ...
    def pending(self) -> Sequence[JournalEntry]: ...
    def unresolved(self) -> Sequence[JournalEntry]: ...
    def pending_for_key(self, local_key: str) -> Sequence[JournalEntry]: ...
    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]: ...
    def get(self, entry_id: int) -> JournalEntry | None: ...
    def recent(self, limit: int = 50) -> Sequence[JournalEntry]: ...
    def uncarried(self, contact_id: int | None = None) -> Sequence[JournalEntry]: ...
    def mark_carried(self, entry_ids: Sequence[int], at: datetime) -> None: ...
    def last_applied(self) -> dict[int, datetime]: ...
    def open_platform_write(self, write: PlatformWrite) -> int: ...
    def platform_writes(self, contact_id: int) -> Sequence[PlatformWrite]: ...
    def close_platform_writes(self, contact_id: int, through: int) -> None: ...


@dataclass
class StepClock:
    """A clock that moves one second per reading: distinct, predictable timestamps."""

    now: datetime = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Backend:
    """Makes repositories on one backend; the same organisation shares the same rows."""

    name: str
    engine: Engine | None
    clock: StepClock = field(default_factory=StepClock)
    _memory_mirrors: dict[str, MemoryMirrorStore] = field(default_factory=dict)
    _memory_journals: dict[str, MemoryJournal] = field(default_factory=dict)
    _memory_conflicts: dict[str, MemoryConflictStore] = field(default_factory=dict)
    _memory_states: dict[str, MemorySyncStateStore] = field(default_factory=dict)
    _memory_cursors: dict[str, MemoryCursorStore] = field(default_factory=dict)
    _memory_claims: dict[str, MemoryClaimStore] = field(default_factory=dict)
    _memory_queues: dict[str, MemoryWorkQueue] = field(default_factory=dict)
    _memory_runs: dict[str, MemoryRunLog] = field(default_factory=dict)
    _memory_ledgers: dict[str, MemoryBudgetLedger] = field(default_factory=dict)
    _memory_problems: dict[str, MemoryProblemLog] = field(default_factory=dict)

    def mirror(self, organization: str = "default") -> MirrorStore:
        if self.engine is None:
            return self._memory_mirrors.setdefault(organization, MemoryMirrorStore(organization))
        return SqlMirrorStore(self.engine, organization)

    def journal(self, organization: str = "default") -> ListingJournal:
        if self.engine is None:
            return self._memory_journals.setdefault(
                organization, MemoryJournal(organization, clock=self.clock)
            )
        return SqlJournal(self.engine, organization, clock=self.clock)

    def conflicts(self, organization: str = "default") -> ConflictStore:
        if self.engine is None:
            return self._memory_conflicts.setdefault(
                organization, MemoryConflictStore(organization, clock=self.clock)
            )
        return SqlConflictStore(self.engine, organization, clock=self.clock)

    def sync_states(self, organization: str = "default") -> SyncStateStore:
        if self.engine is None:
            return self._memory_states.setdefault(organization, MemorySyncStateStore(organization))
        return SqlSyncStateStore(self.engine, organization)

    def cursors(self, organization: str = "default") -> CursorStore:
        if self.engine is None:
            return self._memory_cursors.setdefault(
                organization, MemoryCursorStore(organization, clock=self.clock)
            )
        return SqlCursorStore(self.engine, organization, clock=self.clock)

    def claims(self, organization: str = "default") -> ClaimStore:
        if self.engine is None:
            return self._memory_claims.setdefault(organization, MemoryClaimStore(organization))
        return SqlClaimStore(self.engine, organization)

    def queue(self, organization: str = "default") -> WorkQueue:
        if self.engine is None:
            return self._memory_queues.setdefault(organization, MemoryWorkQueue(organization))
        return SqlWorkQueue(self.engine, organization)

    def runs(self, organization: str = "default") -> RunLog:
        if self.engine is None:
            return self._memory_runs.setdefault(organization, MemoryRunLog(organization))
        return SqlRunLog(self.engine, organization)

    def problems(self, organization: str = "default") -> ProblemLog:
        if self.engine is None:
            return self._memory_problems.setdefault(organization, MemoryProblemLog(organization))
        return SqlProblemLog(self.engine, organization)

    def ledger(self, organization: str = "default") -> BudgetLedger:
        if self.engine is None:
            return self._memory_ledgers.setdefault(organization, MemoryBudgetLedger(organization))
        return SqlBudgetLedger(self.engine, organization)


@pytest.fixture(params=backend_params("memory"))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", None)
        return
    with fresh_database_url(request.param, tmp_path) as url, migrated_engine(url) as engine:
        yield Backend(request.param, engine)


@pytest.fixture
def mirror(backend: Backend) -> MirrorStore:
    return backend.mirror()


@pytest.fixture
def journal(backend: Backend) -> ListingJournal:
    return backend.journal()


@pytest.fixture
def conflicts(backend: Backend) -> ConflictStore:
    return backend.conflicts()


@pytest.fixture
def sync_states(backend: Backend) -> SyncStateStore:
    return backend.sync_states()


@pytest.fixture
def cursors(backend: Backend) -> CursorStore:
    return backend.cursors()


@pytest.fixture
def claims(backend: Backend) -> ClaimStore:
    return backend.claims()


@pytest.fixture
def queue(backend: Backend) -> WorkQueue:
    return backend.queue()


@pytest.fixture
def runs(backend: Backend) -> RunLog:
    return backend.runs()


@pytest.fixture
def clock(backend: Backend) -> StepClock:
    return backend.clock


def make_entry(contact_id: int = 1001, **changes: Any) -> MirrorEntry:
    record: dict[str, Any] = {
        "id": contact_id,
        "name": "Ada Lovelace",
        "contactType": "Household",
        "customFields": [{"name": "Chapter", "value": "Zürich"}],
        "modifiedDateTimeUtc": "2024-04-30T10:15:00.1234567",
    }
    values: dict[str, Any] = {
        "contact_id": contact_id,
        "record": record,
        "modified_raw": record["modifiedDateTimeUtc"],
        "content_hash": "0" * 64,
        "fetched_at": START,
    }
    values.update(changes)
    return MirrorEntry(**values)


def make_journal_entry(contact_id: int = 1001, **changes: Any) -> JournalEntry:
    values: dict[str, Any] = {
        "contact_id": contact_id,
        "method": "PUT",
        "endpoint": f"/api/Contact/{contact_id}",
        "fields": ["name", "customFields[Chapter].value"],
        "before": {"name": "Ada", "customFields[Chapter].value": None},
        "after": {"name": "Ada Lovelace", "customFields[Chapter].value": "Zürich"},
    }
    values.update(changes)
    return JournalEntry(**values)


def make_create(local_key: str = "member-42", **changes: Any) -> JournalEntry:
    """A create's entry: no contact id until CRM+ answers, found again by the key."""
    values: dict[str, Any] = {
        "contact_id": None,
        "local_key": local_key,
        "method": "POST",
        "endpoint": "/api/Contact",
        "fields": ["name"],
        "before": {},
        "after": {"name": "Grace Hopper"},
    }
    values.update(changes)
    return JournalEntry(**values)


def make_conflict(contact_id: int = 1001, path: str = "name", **changes: Any) -> ConflictRecord:
    values: dict[str, Any] = {
        "contact_id": contact_id,
        "path": path,
        "base": "Ada",
        "platform": "Ada L.",
        "crm": "Ada Lovelace",
        "platform_modified": START - timedelta(hours=2),
        "crm_modified": START - timedelta(hours=1),
        "platform_author": "partner-portal",
        "crm_author": "jane@example.org",
        "suggestion": "Ada Lovelace",
        "rule": "manual",
    }
    values.update(changes)
    return ConflictRecord(**values)
