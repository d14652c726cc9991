"""The journal in SQL: every remote write attempt, per organisation."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, insert, select, update
from sqlalchemy.sql.dml import Insert

from syncengine.domain.ports import JournalEntry, Outcome, PlatformWrite
from syncengine.store.failures import MissingEntryError
from syncengine.store.scoped import ClockedSqlRepository, mine
from syncengine.store.sessions import connected
from syncengine.store.tables import JournalRow, metadata
from syncengine.store.timestamps import as_utc

# Outcomes that leave it open whether the write happened: both must be settled by reading
# the CRM before the contact is written again (a PENDING one was cut off by a crash).
UNRESOLVED = (Outcome.PENDING, Outcome.UNKNOWN)
# Outcomes of an outside write whose values CRM+ holds (a MISMATCH was applied, only not
# as meant): the platform must be brought to what CRM+ holds at those fields.
CARRIED = (Outcome.OK, Outcome.MISMATCH)

_TABLE = metadata.tables["journal"]
_WRITES = metadata.tables["platform_writes"]

# The statements, built once (see ``scoped.mine``).
_CONTACT = _TABLE.c.contact_id == bindparam("w_contact_id")
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_CLOSE = update(_TABLE).where(mine(_TABLE, _TABLE.c.id == bindparam("w_id")))
_UNCARRIED_CONDITIONS = (
    _TABLE.c.outside.is_(True),
    _TABLE.c.carried_at.is_(None),
    _TABLE.c.outcome.in_([o.value for o in CARRIED]),
)
_UNCARRIED = select(_TABLE).where(mine(_TABLE, *_UNCARRIED_CONDITIONS)).order_by(_TABLE.c.id)
_UNCARRIED_OF_CONTACT = (
    select(_TABLE).where(mine(_TABLE, *_UNCARRIED_CONDITIONS, _CONTACT)).order_by(_TABLE.c.id)
)
_APPLIED_SINCE = (
    select(_TABLE)
    .where(
        mine(
            _TABLE,
            _CONTACT,
            _TABLE.c.outside.is_(False),
            _TABLE.c.outcome.in_([o.value for o in CARRIED]),
            _TABLE.c.started_at > bindparam("w_since"),
        )
    )
    .order_by(_TABLE.c.id)
)
_INSERT_WRITE = insert(_WRITES).returning(_WRITES.c.id)
_WRITES_ALL = select(_WRITES).where(mine(_WRITES)).order_by(_WRITES.c.id)
_WRITES_OF_CONTACT = (
    select(_WRITES)
    .where(mine(_WRITES, _WRITES.c.contact_id == bindparam("w_contact_id")))
    .order_by(_WRITES.c.id)
)
_CLOSE_WRITES = delete(_WRITES).where(
    mine(
        _WRITES,
        _WRITES.c.contact_id == bindparam("w_contact_id"),
        _WRITES.c.id <= bindparam("w_through"),
    )
)


class SqlJournal(ClockedSqlRepository):
    """``Journal`` on SQLite or PostgreSQL, limited to one organisation's entries.

    ``clock`` stamps ``started_at`` (when the entry does not carry one) and
    ``finished_at``; inject one in tests and simulations.
    """

    _row_type = JournalRow

    def open(self, entry: JournalEntry) -> int:
        """Write the intent (normally PENDING) before the request is sent; returns its id."""
        row = dict(
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
        return self._insert(_INSERT, row)

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
        with connected(self._engine) as connection:
            # The SET clause is the parameters' columns (those given here).
            if connection.execute(_CLOSE, self._params(w_id=entry_id, **values)).rowcount != 1:
                raise MissingEntryError(
                    f"journal entry {entry_id} does not exist in {self._organization!r}"
                )

    def get(self, entry_id: int) -> JournalEntry | None:
        found = self._list(select(_TABLE).where(mine(_TABLE, _TABLE.c.id == entry_id)))
        return found[0] if found else None

    def pending(self) -> Sequence[JournalEntry]:
        """Entries never closed (e.g. a crash between open and close), oldest first."""
        return self._list(
            select(_TABLE)
            .where(mine(_TABLE, _TABLE.c.outcome == Outcome.PENDING.value))
            .order_by(_TABLE.c.id)
        )

    def unresolved(self) -> Sequence[JournalEntry]:
        """Entries whose write may or may not have happened (PENDING or UNKNOWN), oldest
        first: each must be settled by reading the CRM before its contact is written again."""
        return self._list(
            select(_TABLE)
            .where(mine(_TABLE, _TABLE.c.outcome.in_([o.value for o in UNRESOLVED])))
            .order_by(_TABLE.c.id)
        )

    def pending_for_key(self, local_key: str) -> Sequence[JournalEntry]:
        """The unresolved (PENDING or UNKNOWN) entries opened with ``local_key``, oldest
        first: in practice a create cut off before its answer, to be looked up in the CRM
        (by reference or email) before creating the contact a second time."""
        return self._list(
            select(_TABLE)
            .where(
                mine(
                    _TABLE,
                    _TABLE.c.local_key == local_key,
                    _TABLE.c.outcome.in_([o.value for o in UNRESOLVED]),
                )
            )
            .order_by(_TABLE.c.id)
        )

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]:
        """Every attempt on one contact, oldest first."""
        return self._list(
            select(_TABLE)
            .where(mine(_TABLE, _TABLE.c.contact_id == contact_id))
            .order_by(_TABLE.c.id)
        )

    def uncarried(self, contact_id: int | None = None) -> Sequence[JournalEntry]:
        """Outside writes CRM+ applied whose fields have not reached the platform yet,
        oldest first (of one contact, or all)."""
        if contact_id is None:
            return self._list(_UNCARRIED)
        return self._list(_UNCARRIED_OF_CONTACT, w_contact_id=contact_id)

    def applied_since(self, contact_id: int, since: datetime) -> Sequence[JournalEntry]:
        return self._list(_APPLIED_SINCE, w_contact_id=contact_id, w_since=as_utc(since))

    def last_applied(self) -> dict[int, datetime]:
        statement = (
            select(_TABLE.c.contact_id, func.max(_TABLE.c.started_at))
            .where(
                mine(
                    _TABLE,
                    _TABLE.c.contact_id.is_not(None),
                    _TABLE.c.outside.is_(False),
                    _TABLE.c.outcome.in_([o.value for o in CARRIED]),
                )
            )
            .group_by(_TABLE.c.contact_id)
        )
        with connected(self._engine) as connection:
            return {
                contact_id: as_utc(started)
                for contact_id, started in connection.execute(statement, self._params())
                if contact_id is not None and started is not None
            }

    def mark_carried(self, entry_ids: Sequence[int], at: datetime) -> None:
        """The fields of these outside writes have reached the platform."""
        if not entry_ids:
            return
        statement = (
            update(_TABLE)
            .where(mine(_TABLE, _TABLE.c.id.in_(list(entry_ids))))
            .values(carried_at=as_utc(at))
        )
        with connected(self._engine) as connection:
            connection.execute(statement, self._params())

    def open_platform_write(self, write: PlatformWrite) -> int:
        row = {
            "organization": self._organization,
            "contact_id": write.contact_id,
            "values": {path: [before, after] for path, (before, after) in write.values.items()},
            "started_at": as_utc(write.started_at or self._clock()),
        }
        return self._insert(_INSERT_WRITE, row)

    def platform_writes(self, contact_id: int | None = None) -> Sequence[PlatformWrite]:
        if contact_id is None:
            statement, parameters = _WRITES_ALL, self._params()
        else:
            statement, parameters = _WRITES_OF_CONTACT, self._params(w_contact_id=contact_id)
        with connected(self._engine) as connection:
            return [_to_platform_write(row) for row in connection.execute(statement, parameters)]

    def close_platform_writes(self, contact_id: int, through: int) -> None:
        parameters = self._params(w_contact_id=contact_id, w_through=through)
        with connected(self._engine) as connection:
            connection.execute(_CLOSE_WRITES, parameters)

    def recent(self, limit: int = 50) -> Sequence[JournalEntry]:
        """The latest ``limit`` entries, newest first (for listings)."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        return self._list(
            select(_TABLE).where(mine(_TABLE)).order_by(_TABLE.c.id.desc()).limit(limit)
        )

    def _insert(self, statement: Insert, row: dict[str, Any]) -> int:
        """Insert ``row`` with ``statement`` (one of the ``_INSERT``s, which return the
        id), in a transaction of its own; the id the database gave it."""
        with connected(self._engine) as connection:
            entry_id: int = connection.execute(statement, row).scalar_one()
            return entry_id

    def _list(self, statement: Select[Any], **parameters: Any) -> list[JournalEntry]:
        """The entries ``statement`` (of whole rows, built with ``mine``) selects."""
        with connected(self._engine) as connection:
            rows = connection.execute(statement, self._params(**parameters))
            return [_to_entry(row) for row in rows]


def _to_entry(row: Row[Any]) -> JournalEntry:
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


def _to_platform_write(row: Row[Any]) -> PlatformWrite:
    return PlatformWrite(
        id=row.id,
        contact_id=row.contact_id,
        # By the mapping: a row's attributes are a tuple's too (``count``, ``index``).
        values={path: (pair[0], pair[1]) for path, pair in row._mapping["values"].items()},
        started_at=row.started_at,
    )
