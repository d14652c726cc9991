"""The journal in SQL: every remote write attempt, per organisation."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from syncengine.domain.ports import JournalEntry, Outcome, PlatformWrite
from syncengine.store.failures import MissingEntryError
from syncengine.store.scoped import ClockedSqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import JournalRow, PlatformWriteRow
from syncengine.store.timestamps import as_utc

# Outcomes that leave it open whether the write happened: both must be settled by reading
# the CRM before the contact is written again (a PENDING one was cut off by a crash).
UNRESOLVED = (Outcome.PENDING, Outcome.UNKNOWN)
# Outcomes of an outside write whose values CRM+ holds (a MISMATCH was applied, only not
# as meant): the platform must be brought to what CRM+ holds at those fields.
CARRIED = (Outcome.OK, Outcome.MISMATCH)


class SqlJournal(ClockedSqlRepository):
    """``Journal`` on SQLite or PostgreSQL, limited to one organisation's entries.

    ``clock`` stamps ``started_at`` (when the entry does not carry one) and
    ``finished_at``; inject one in tests and simulations.
    """

    _row_type = JournalRow

    def open(self, entry: JournalEntry) -> int:
        """Write the intent (normally PENDING) before the request is sent; returns its id."""
        row = JournalRow(
            organization=self._organization,
            contact_id=entry.contact_id,
            local_key=entry.local_key,
            method=entry.method,
            endpoint=entry.endpoint,
            fields=list(entry.fields),
            before=dict(entry.before),
            after=dict(entry.after),
            response_after=dict(entry.response_after),
            outcome=Outcome(entry.outcome).value,
            error=entry.error,
            note=entry.note,
            concurrent_write_suspected=entry.concurrent_write_suspected,
            started_at=as_utc(entry.started_at or self._clock()),
            finished_at=None if entry.finished_at is None else as_utc(entry.finished_at),
            outside=entry.outside,
            carried_at=None if entry.carried_at is None else as_utc(entry.carried_at),
        )
        return self._insert(row)

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
        """Record how the write ended.

        ``None`` arguments keep what ``open`` wrote, and a suspected concurrent write once
        flagged stays flagged: closing never erases evidence. Closing as PENDING is a bug
        (the entry would look unfinished forever) and raises ``ValueError``.
        ``contact_id``: the id a create got, so that ``for_contact`` lists the create too.
        """
        outcome = Outcome(outcome)
        if outcome is Outcome.PENDING:
            raise ValueError("a journal entry cannot be closed as pending")
        values: dict[str, Any] = {"outcome": outcome.value, "finished_at": as_utc(self._clock())}
        if response_after is not None:
            values["response_after"] = dict(response_after)
        if error is not None:
            values["error"] = error
        if note is not None:
            values["note"] = note
        if concurrent_write_suspected:
            values["concurrent_write_suspected"] = True
        if contact_id is not None:
            values["contact_id"] = contact_id
        statement = (
            update(JournalRow)
            .where(self._mine(), col(JournalRow.id) == entry_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with transaction(self._engine) as session:
            if session.exec(statement).rowcount != 1:
                raise MissingEntryError(
                    f"journal entry {entry_id} does not exist in {self._organization!r}"
                )

    def get(self, entry_id: int) -> JournalEntry | None:
        return self._first(select(JournalRow).where(self._mine(), col(JournalRow.id) == entry_id))

    def pending(self) -> Sequence[JournalEntry]:
        """Entries never closed (e.g. a crash between open and close), oldest first."""
        return self._list(
            select(JournalRow)
            .where(self._mine(), col(JournalRow.outcome) == Outcome.PENDING.value)
            .order_by(col(JournalRow.id))
        )

    def unresolved(self) -> Sequence[JournalEntry]:
        """Entries whose write may or may not have happened (PENDING or UNKNOWN), oldest
        first: each must be settled by reading the CRM before its contact is written again."""
        return self._list(
            select(JournalRow)
            .where(self._mine(), col(JournalRow.outcome).in_([o.value for o in UNRESOLVED]))
            .order_by(col(JournalRow.id))
        )

    def pending_for_key(self, local_key: str) -> Sequence[JournalEntry]:
        """The unresolved (PENDING or UNKNOWN) entries opened with ``local_key``, oldest
        first: in practice a create cut off before its answer, to be looked up in the CRM
        (by reference or email) before creating the contact a second time."""
        return self._list(
            select(JournalRow)
            .where(
                self._mine(),
                col(JournalRow.local_key) == local_key,
                col(JournalRow.outcome).in_([o.value for o in UNRESOLVED]),
            )
            .order_by(col(JournalRow.id))
        )

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]:
        """Every attempt on one contact, oldest first."""
        return self._list(
            select(JournalRow)
            .where(self._mine(), col(JournalRow.contact_id) == contact_id)
            .order_by(col(JournalRow.id))
        )

    def uncarried(self, contact_id: int | None = None) -> Sequence[JournalEntry]:
        """Outside writes CRM+ applied whose fields have not reached the platform yet,
        oldest first (of one contact, or all)."""
        conditions: list[ColumnElement[bool]] = [
            col(JournalRow.outside).is_(True),
            col(JournalRow.carried_at).is_(None),
            col(JournalRow.outcome).in_([o.value for o in CARRIED]),
        ]
        if contact_id is not None:
            conditions.append(col(JournalRow.contact_id) == contact_id)
        return self._list(
            select(JournalRow).where(self._mine(*conditions)).order_by(col(JournalRow.id))
        )

    def applied_since(self, contact_id: int, since: datetime) -> Sequence[JournalEntry]:
        return self._list(
            select(JournalRow)
            .where(
                self._mine(
                    col(JournalRow.contact_id) == contact_id,
                    col(JournalRow.outside).is_(False),
                    col(JournalRow.outcome).in_([o.value for o in CARRIED]),
                    col(JournalRow.started_at) > as_utc(since),
                )
            )
            .order_by(col(JournalRow.id))
        )

    def last_applied(self) -> dict[int, datetime]:
        statement = (
            select(JournalRow.contact_id, func.max(JournalRow.started_at))
            .where(
                self._mine(
                    col(JournalRow.contact_id).is_not(None),
                    col(JournalRow.outside).is_(False),
                    col(JournalRow.outcome).in_([o.value for o in CARRIED]),
                )
            )
            .group_by(col(JournalRow.contact_id))
        )
        with transaction(self._engine) as session:
            return {
                contact_id: as_utc(started)
                for contact_id, started in session.exec(statement).all()
                if contact_id is not None and started is not None
            }

    def mark_carried(self, entry_ids: Sequence[int], at: datetime) -> None:
        """The fields of these outside writes have reached the platform."""
        if not entry_ids:
            return
        statement = (
            update(JournalRow)
            .where(self._mine(col(JournalRow.id).in_(list(entry_ids))))
            .values(carried_at=as_utc(at))
            .execution_options(synchronize_session=False)
        )
        with transaction(self._engine) as session:
            session.exec(statement)

    def open_platform_write(self, write: PlatformWrite) -> int:
        row = PlatformWriteRow(
            organization=self._organization,
            contact_id=write.contact_id,
            values={path: [before, after] for path, (before, after) in write.values.items()},
            started_at=as_utc(write.started_at or self._clock()),
        )
        return self._insert(row)

    def platform_writes(self, contact_id: int | None = None) -> Sequence[PlatformWrite]:
        statement = select(PlatformWriteRow).where(
            col(PlatformWriteRow.organization) == self._organization
        )
        if contact_id is not None:
            statement = statement.where(col(PlatformWriteRow.contact_id) == contact_id)
        statement = statement.order_by(col(PlatformWriteRow.id))
        with transaction(self._engine) as session:
            return [_to_platform_write(row) for row in session.exec(statement).all()]

    def close_platform_writes(self, contact_id: int, through: int) -> None:
        statement = delete(PlatformWriteRow).where(
            col(PlatformWriteRow.organization) == self._organization,
            col(PlatformWriteRow.contact_id) == contact_id,
            col(PlatformWriteRow.id) <= through,
        )
        with transaction(self._engine) as session:
            session.exec(statement)

    def recent(self, limit: int = 50) -> Sequence[JournalEntry]:
        """The latest ``limit`` entries, newest first (for listings)."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._list(
            select(JournalRow).where(self._mine()).order_by(col(JournalRow.id).desc()).limit(limit)
        )

    def _insert(self, row: JournalRow | PlatformWriteRow) -> int:
        """Insert ``row`` in a transaction of its own; the id the database gave it."""
        with transaction(self._engine) as session:
            session.add(row)
            session.flush()
            if row.id is None:  # pragma: no cover - the database always assigns one
                raise RuntimeError(f"the database assigned no id to a {type(row).__name__}")
            return row.id

    def _list(self, statement: SelectOfScalar[JournalRow]) -> list[JournalEntry]:
        with transaction(self._engine) as session:
            return [_to_entry(row) for row in session.exec(statement).all()]

    def _first(self, statement: SelectOfScalar[JournalRow]) -> JournalEntry | None:
        with transaction(self._engine) as session:
            row = session.exec(statement).first()
            return None if row is None else _to_entry(row)


def _to_entry(row: JournalRow) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        contact_id=row.contact_id,
        local_key=row.local_key,
        method=row.method,
        endpoint=row.endpoint,
        fields=list(row.fields),
        before=dict(row.before),
        after=dict(row.after),
        response_after=dict(row.response_after),
        outcome=Outcome(row.outcome),
        error=row.error,
        note=row.note,
        concurrent_write_suspected=row.concurrent_write_suspected,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outside=row.outside,
        carried_at=row.carried_at,
    )


def _to_platform_write(row: PlatformWriteRow) -> PlatformWrite:
    return PlatformWrite(
        id=row.id,
        contact_id=row.contact_id,
        values={path: (pair[0], pair[1]) for path, pair in row.values.items()},
        started_at=row.started_at,
    )
