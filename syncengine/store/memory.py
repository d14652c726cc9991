"""In-memory twins of the SQL mirror and journal, for tests and simulations.

They keep the same contract as the SQL repositories (the suite in ``tests/store/`` runs
against both), including what a database does implicitly: values go through a JSON round
trip, so a caller mutating a record it passed in or got back changes nothing stored, and
non-JSON values fail here as they would there.
"""

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from syncengine.domain.ports import JournalEntry, MirrorEntry, Outcome
from syncengine.store.failures import MissingEntryError
from syncengine.store.tables import DEFAULT_ORGANIZATION
from syncengine.store.timestamps import as_utc, utcnow


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass
class _Lease:
    owner: str
    until: datetime


class MemoryMirrorStore:
    """``MirrorStore`` in a dict; safe to share between threads."""

    def __init__(self, organization: str = DEFAULT_ORGANIZATION) -> None:
        self._organization = organization
        self._entries: dict[int, MirrorEntry] = {}
        self._leases: dict[int, _Lease] = {}
        self._lock = threading.Lock()

    @property
    def organization(self) -> str:
        return self._organization

    def get(self, contact_id: int) -> MirrorEntry | None:
        with self._lock:
            entry = self._entries.get(contact_id)
            return None if entry is None else _copy_entry(entry)

    def put(self, entry: MirrorEntry) -> None:
        stored = _copy_entry(entry)
        stored.fetched_at = as_utc(entry.fetched_at)
        with self._lock:
            self._entries[entry.contact_id] = stored

    def set_archived(self, contact_id: int, archived: bool) -> None:
        with self._lock:
            entry = self._entries.get(contact_id)
            if entry is None:
                raise MissingEntryError(
                    f"contact {contact_id} is not in the mirror of {self._organization!r}"
                )
            entry.archived = archived

    def all_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._entries)

    def try_lease(self, contact_id: int, owner: str, *, until: datetime, now: datetime) -> bool:
        until, now = as_utc(until), as_utc(now)
        with self._lock:
            if contact_id not in self._entries:
                return False
            held = self._leases.get(contact_id)
            if held is not None and held.owner != owner and held.until > now:
                return False
            self._leases[contact_id] = _Lease(owner, until)
            return True

    def release_lease(self, contact_id: int, owner: str) -> bool:
        with self._lock:
            held = self._leases.get(contact_id)
            if held is None or held.owner != owner:
                return False
            del self._leases[contact_id]
            return True


def _copy_entry(entry: MirrorEntry) -> MirrorEntry:
    return replace(entry, record=_json_copy(entry.record))


class MemoryJournal:
    """``Journal`` in a list; safe to share between threads."""

    def __init__(
        self,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._organization = organization
        self._clock = clock
        self._entries: dict[int, JournalEntry] = {}
        self._next_id = 1
        self._lock = threading.Lock()

    @property
    def organization(self) -> str:
        return self._organization

    def open(self, entry: JournalEntry) -> int:
        stored = _copy_journal_entry(entry)
        stored.outcome = Outcome(entry.outcome)
        stored.started_at = as_utc(entry.started_at or self._clock())
        stored.finished_at = None if entry.finished_at is None else as_utc(entry.finished_at)
        with self._lock:
            stored.id = self._next_id
            self._next_id += 1
            self._entries[stored.id] = stored
            return stored.id

    def close(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        response_after: Mapping[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        concurrent_write_suspected: bool = False,
    ) -> None:
        outcome = Outcome(outcome)
        if outcome is Outcome.PENDING:
            raise ValueError("a journal entry cannot be closed as pending")
        finished_at = as_utc(self._clock())
        response_copy = None if response_after is None else _json_copy(dict(response_after))
        with self._lock:
            entry = self._entries.get(entry_id)
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

    def get(self, entry_id: int) -> JournalEntry | None:
        with self._lock:
            entry = self._entries.get(entry_id)
            return None if entry is None else _copy_journal_entry(entry)

    def pending(self) -> Sequence[JournalEntry]:
        return self._select(lambda entry: entry.outcome is Outcome.PENDING)

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]:
        return self._select(lambda entry: entry.contact_id == contact_id)

    def recent(self, limit: int = 50) -> Sequence[JournalEntry]:
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        with self._lock:
            newest_first = sorted(self._entries, reverse=True)[:limit]
            return [_copy_journal_entry(self._entries[key]) for key in newest_first]

    def _select(self, keep: Callable[[JournalEntry], bool]) -> list[JournalEntry]:
        with self._lock:
            return [
                _copy_journal_entry(self._entries[key])
                for key in sorted(self._entries)
                if keep(self._entries[key])
            ]


def _copy_journal_entry(entry: JournalEntry) -> JournalEntry:
    return replace(
        entry,
        fields=_json_copy(list(entry.fields)),
        before=_json_copy(dict(entry.before)),
        after=_json_copy(dict(entry.after)),
        response_after=_json_copy(dict(entry.response_after)),
    )
