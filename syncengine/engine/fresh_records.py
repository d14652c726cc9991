"""The records a bulk refresh found changed in CRM+, kept on disk until their turn.

A first `sync --all` finds every contact changed: held in memory, 50,000 full records
took over a gigabyte. They go instead, a page at a time, into a private temporary SQLite
database (``sqlite3.connect("")``: SQLite keeps a couple of megabytes of it in memory,
spills the rest to a file it has already unlinked, and drops it when closed, so nothing
of it outlives the run). What stays in memory is each contact's id, and the survivor of
the few that CRM+ merged away (the run's planning needs those without the records).
Contacts are synced on several threads at once: one lock serialises the reads.

Each record is kept in ``marshal``'s format, not as JSON text: a bulk record is plain
JSON values (dicts, lists, strings, numbers, booleans, None), which ``marshal`` writes
back exactly, 12 times as fast as ``json.dumps`` and reads a third faster (every record
of a first sync is written once and read twice: by its plan and by its link). Only this
process writes and reads the database, so nothing from outside is ever unmarshalled.
"""

from __future__ import annotations

import marshal
import sqlite3
import threading
from collections.abc import Iterable, Iterator

from syncengine.domain.ports import Record


class FreshRecords:
    def __init__(self) -> None:
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.execute("CREATE TABLE fresh (contact_id INTEGER PRIMARY KEY, record BLOB)")
        self._lock = threading.Lock()
        self._merged: dict[int, int | None] = {}  # id -> the survivor, None if not merged

    def add(self, records: Iterable[Record]) -> None:
        """Keep ``records`` (one bulk page): a contact seen again replaces its record."""
        rows = []
        for record in records:
            contact_id = int(record["id"])
            survivor = record.get("mergedIntoContactId")
            self._merged[contact_id] = int(survivor) if survivor else None
            rows.append((contact_id, marshal.dumps(record)))
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO fresh VALUES (?, ?)", rows)

    def get(self, contact_id: int) -> Record | None:
        if contact_id not in self._merged:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM fresh WHERE contact_id = ?", (contact_id,)
            ).fetchone()
        record: Record = marshal.loads(row[0])
        return record

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._merged

    def __iter__(self) -> Iterator[int]:
        return iter(self._merged)

    def __len__(self) -> int:
        return len(self._merged)

    def survivor(self, contact_id: int) -> int | None:
        """The contact this one was merged into, per its bulk record (None if not)."""
        return self._merged.get(contact_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()
