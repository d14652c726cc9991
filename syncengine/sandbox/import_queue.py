"""The holding area of accepted Contact transactions (the CRM+ "Imports" list).

Plain data, not locked itself (the sandbox state's single lock guards every use). Entries
are kept after they are applied, with their outcome, so a rehearsal can see what each
transaction became; a reseed or reset empties the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.timefmt import render_timestamp


class ImportStatus(StrEnum):
    PENDING = "pending"  # accepted, not yet due (or not yet looked at)
    CREATED = "created"  # matched nothing: a new contact was created
    UPDATED = "updated"  # matched a contact, which was updated
    FAILED = "failed"  # could not be applied (an email owned by another contact...)


@dataclass
class QueuedImport:
    """One accepted transaction: the flat body as sent (type-checked), and its fate."""

    import_id: int
    body: Record
    accepted: int  # .NET ticks of acceptance (the sandbox clock)
    due: int  # ticks from which it is applied
    status: ImportStatus = ImportStatus.PENDING
    contact_id: int | None = None  # the contact created or updated
    matched_by: str | None = None  # "reference", "email" or None (created)
    error: Any = None  # the refused write's answer body, when FAILED

    def to_json(self) -> Record:
        return {
            "importId": self.import_id,
            "status": self.status.value,
            "acceptedDateTimeUtc": render_timestamp(self.accepted),
            "dueDateTimeUtc": render_timestamp(self.due),
            "contactId": self.contact_id,
            "matchedBy": self.matched_by,
            "error": self.error,
            "transaction": self.body,
        }


@dataclass
class ImportQueue:
    entries: list[QueuedImport] = field(default_factory=list)
    _next_id: int = 1

    def add(self, body: Record, *, accepted: int, due: int) -> QueuedImport:
        entry = QueuedImport(self._next_id, body, accepted, due)
        self._next_id += 1
        self.entries.append(entry)
        return entry

    def pending(self, *, due_by: int | None = None) -> list[QueuedImport]:
        """Pending entries in acceptance order; only those due by ``due_by`` if given."""
        return [
            e
            for e in self.entries
            if e.status is ImportStatus.PENDING and (due_by is None or e.due <= due_by)
        ]

    def clear(self) -> None:
        self.entries = []
        self._next_id = 1
