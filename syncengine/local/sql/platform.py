"""The ``sql`` adapter: the platform's contacts as rows of a table or view.

One row per contact. ``key_column`` is the platform's own key, ``contact_id_column`` the
CRM+ id once linked (NULL before), ``modified_column`` when the platform last changed the
row. The contact itself is either one JSON document (``document_column``) or flat columns
each holding the value at a path (``columns``); see ``docs/local-adapters.md``.

Concurrency is optimistic: a write is ``UPDATE ... WHERE key = :key AND modified =
:as_read``, and 0 rows means the platform changed the row meanwhile (LocalConflictError).
The guard compares the modification time exactly as the database returned it (raw), so
a timestamp stored in a format SQLAlchemy would render differently still matches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import NullType

from syncengine.domain.ports import (
    Clock,
    LocalRecord,
    Record,
    UnchangedRecord,
    UnchangedTest,
    nothing_unchanged,
    whole_records,
)
from syncengine.errors import LocalConflictError, LocalDataError
from syncengine.local.clock import SystemClock
from syncengine.local.documents import id_problem
from syncengine.local.moments import as_utc, later_than, same_moment
from syncengine.local.options import section
from syncengine.local.overlay import overlay
from syncengine.local.sql import values
from syncengine.local.sql.connect import make_engine, safe_url, translated
from syncengine.local.sql.mapping import value_at
from syncengine.local.sql.settings import NewRowKey, SqlSettings
from syncengine.local.sql.table import reflect

__all__ = ["SqlPlatform"]

# Rows per query of a scan. Each page is its own short read, so no lock or snapshot is
# held while the engine works on the records (and writes some of them back).
PAGE_SIZE: Final = 500

_KEY, _CONTACT_ID, _MODIFIED, _DOCUMENT = "k", "cid", "modified", "doc"


def _raw(column: Any, label: str) -> Any:
    # NullType: no SQLAlchemy result processing; values are converted in ``values``.
    return type_coerce(column, NullType()).label(label)


class SqlPlatform:
    """A local platform kept in one table or view of any SQLAlchemy database."""

    def __init__(
        self,
        engine: Engine,
        settings: SqlSettings,
        *,
        clock: Clock | None = None,
        owns_engine: bool = False,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._owns_engine = owns_engine
        self._t = reflect(engine, settings)
        self._where = f"table {self._t.label} in {safe_url(engine)}"

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, clock: Clock | None = None) -> SqlPlatform:
        """From the ``local:`` section; the adapter's own options are under ``sql``."""
        settings = SqlSettings.from_options(section(options, "sql", "local"))
        engine = make_engine(settings.url)
        try:
            return cls(engine, settings, clock=clock, owns_engine=True)
        except BaseException:
            engine.dispose()
            raise

    @property
    def settings(self) -> SqlSettings:
        return self._settings

    def close(self) -> None:
        """Release the connection pool (only if this adapter created the engine)."""
        if self._owns_engine:
            self._engine.dispose()

    # -- the port ------------------------------------------------------------------------

    def scan(self) -> Iterator[LocalRecord | LocalDataError]:
        return whole_records(self.scan_changed)

    def scan_changed(
        self, unchanged: UnchangedTest
    ) -> Iterator[LocalRecord | UnchangedRecord | LocalDataError]:
        with translated(self._where, "read"), self._engine.connect() as conn:
            keyless = conn.execute(
                select(func.count()).select_from(self._t.table).where(self._t.key.is_(None))
            ).scalar_one()
            duplicates = self._duplicate_contact_ids(conn)
        if keyless:
            yield LocalDataError(
                self._where,
                f"{keyless} row(s) have no {self._t.key.name}: they cannot be synced",
            )
        last: Any = None
        while True:
            query = (
                self._select()
                .where(self._t.key.is_not(None))  # reported above, as a count
                .order_by(self._t.key)
                .limit(PAGE_SIZE)
            )
            if last is not None:
                query = query.where(self._t.key > last)
            with translated(self._where, "read"), self._engine.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                known = self._known_unchanged(row, unchanged, duplicates)
                if known is not None:
                    yield known  # its document and mapped columns are not read
                    continue
                local = self._to_local_quietly(row)
                if isinstance(local, LocalRecord) and local.contact_id in duplicates:
                    yield LocalDataError(
                        self._row_where(local.key),
                        f"contact id {local.contact_id} is in more than one row; "
                        "which one is the contact cannot be told",
                    )
                else:
                    yield local
            if len(rows) < PAGE_SIZE:
                return
            last = rows[-1]._mapping[_KEY]

    def get(self, contact_id: int) -> LocalRecord | None:
        with translated(self._where, "read"), self._engine.connect() as conn:
            rows = self._rows_of(conn, contact_id)
        if not rows:
            return None
        return self._to_local(self._only(rows, contact_id))

    def get_new(self, key: str) -> LocalRecord | None:
        try:
            key_value = values.bind_key(self._t.key, key)
        except ValueError:
            return None  # no such row can exist
        with translated(self._where, "read"), self._engine.connect() as conn:
            row = conn.execute(
                self._select().where(self._t.key == key_value, self._t.contact_id.is_(None))
            ).first()
        return None if row is None else self._to_local(row)

    def location(self, key: str) -> str:
        return self._row_where(key)

    def save(
        self, contact_id: int, record: Record, *, expected_modified: datetime | None
    ) -> LocalRecord:
        problem = id_problem(record, contact_id)
        if problem:
            raise ValueError(f"cannot save {self._contact_where(contact_id)}: {problem}")
        if expected_modified is None:
            return self._insert(contact_id, record)
        with translated(self._where, "read"), self._engine.connect() as conn:
            rows = self._rows_of(conn, contact_id)
        if not rows:
            raise LocalConflictError(self._contact_where(contact_id))  # deleted meanwhile
        row = self._only(rows, contact_id)
        current = self._to_local(row)
        if not same_moment(current.modified_at, expected_modified):
            raise LocalConflictError(self._row_where(current.key))
        changes = self._changes(current, record)
        if not changes:
            # Nothing to write: the modification time stays, so the next run does not
            # take our no-op for a platform edit.
            return current
        stamp = later_than(current.modified_at, self._clock.now())
        changes[self._t.modified] = values.bind_modified(self._t.modified, stamp)
        where = self._row_where(current.key)
        raw_key = row._mapping[_KEY]
        guard = type_coerce(self._t.modified, NullType()) == bindparam(
            "modified_as_read", row._mapping[_MODIFIED], type_=NullType()
        )
        with translated(self._where, "write", record=where), self._engine.begin() as conn:
            result = conn.execute(
                update(self._t.table).where(self._t.key == raw_key, guard).values(changes)
            )
            if result.rowcount != 1:
                raise LocalConflictError(where)
            # Read back inside the transaction: the row is still ours, so this is our
            # write as the database keeps it (precision, defaults, triggers).
            after = conn.execute(self._select().where(self._t.key == raw_key)).one()
        return self._to_local(after)

    def link(self, key: str, contact_id: int) -> LocalRecord:
        where = self._row_where(key)
        try:
            key_value = values.bind_key(self._t.key, key)
        except ValueError:
            raise LocalConflictError(where) from None  # no such row can exist
        try:
            return self._link(key_value, key, contact_id)
        except LocalDataError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                # A unique index on the contact id column: another row took it meanwhile.
                raise LocalConflictError(self._contact_where(contact_id)) from exc.__cause__
            raise

    def _link(self, key_value: Any, key: str, contact_id: int) -> LocalRecord:
        where = self._row_where(key)
        with translated(self._where, "write", record=where), self._engine.begin() as conn:
            row = conn.execute(self._select().where(self._t.key == key_value)).first()
            if row is None:
                raise LocalConflictError(where)  # removed on the platform since it was read
            current = self._to_local(row)
            holders = self._rows_of(conn, contact_id)
            holder_keys = [values.key_text(h._mapping[_KEY]) for h in holders]
            if current.contact_id == contact_id and holder_keys == [current.key]:
                return current  # linked already, e.g. by a run that stopped after it
            if current.contact_id is not None:
                raise LocalConflictError(where)  # linked to another contact meanwhile
            if holders:
                raise LocalConflictError(self._contact_where(contact_id))
            result = conn.execute(
                update(self._t.table)
                .where(self._t.key == key_value, self._t.contact_id.is_(None))
                .values(
                    {self._t.contact_id: values.bind_contact_id(self._t.contact_id, contact_id)}
                )
            )
            if result.rowcount != 1:
                raise LocalConflictError(where)
            # The modification time is left alone: linking records where the contact went
            # in CRM+, it is not an edit of the contact.
            after = conn.execute(self._select().where(self._t.key == key_value)).one()
        return self._to_local(after)

    def relink(
        self, contact_id: int, survivor_id: int, record: Record | None = None
    ) -> LocalRecord:
        """The row of ``contact_id`` gets ``survivor_id`` in the contact id column (and in
        a document's top-level ``id``, if it has one); its key stays what it is. With a
        ``record``, the row's content becomes it too (as ``save`` writes it), in the same
        statement.

        One transaction: the row is read, the survivor looked up, and the row updated
        only if its contact id and modification time are still as read.
        """
        for value in (contact_id, survivor_id):
            if type(value) is not int or value <= 0:
                raise ValueError(f"a contact id is a positive integer, not {value!r}")
        if contact_id == survivor_id:
            raise ValueError(f"contact {contact_id} cannot be merged into itself")
        if record is not None:
            problem = id_problem(record, survivor_id)
            if problem:
                raise ValueError(f"cannot relink {self._contact_where(contact_id)}: {problem}")
        try:
            return self._relink(contact_id, survivor_id, record)
        except LocalDataError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                # A unique index on the contact id column: a row took the survivor's id.
                raise LocalConflictError(self._contact_where(survivor_id)) from exc.__cause__
            raise

    def _relink(self, contact_id: int, survivor_id: int, record: Record | None) -> LocalRecord:
        where = self._contact_where(contact_id)
        old_id = values.bind_contact_id(self._t.contact_id, contact_id)
        with translated(self._where, "write", record=where), self._engine.begin() as conn:
            rows = self._rows_of(conn, contact_id)
            if not rows:
                raise LocalConflictError(where)  # not on the platform any more
            row = self._only(rows, contact_id)
            current = self._to_local(row)  # malformed: reported, never touched
            if self._rows_of(conn, survivor_id):
                raise LocalConflictError(self._contact_where(survivor_id))
            changes: dict[Any, Any] = {
                self._t.contact_id: values.bind_contact_id(self._t.contact_id, survivor_id)
            }
            if record is not None:
                # The survivor's content: the row changes, so the modification time moves.
                if self._t.document is not None:
                    document = overlay(current.record, record)
                    if document.get("id") is not None:
                        document = {**document, "id": survivor_id}
                    changes[self._t.document] = values.bind_document(self._t.document, document)
                else:
                    changes.update(
                        self._mapped_values(record, self._row_where(current.key), current=None)
                    )
                stamp = later_than(current.modified_at, self._clock.now())
                changes[self._t.modified] = values.bind_modified(self._t.modified, stamp)
            elif self._t.document is not None and current.record.get("id") is not None:
                # The document's own id (checked equal to contact_id) names the contact
                # too. Rewriting it changes the document, so the modification time moves;
                # moving only the link leaves it alone, as ``link`` does.
                document = {**current.record, "id": survivor_id}
                changes[self._t.document] = values.bind_document(self._t.document, document)
                stamp = later_than(current.modified_at, self._clock.now())
                changes[self._t.modified] = values.bind_modified(self._t.modified, stamp)
            raw_key = row._mapping[_KEY]
            guard = type_coerce(self._t.modified, NullType()) == bindparam(
                "modified_as_read", row._mapping[_MODIFIED], type_=NullType()
            )
            result = conn.execute(
                update(self._t.table)
                .where(self._t.key == raw_key, self._t.contact_id == old_id, guard)
                .values(changes)
            )
            if result.rowcount != 1:
                raise LocalConflictError(self._row_where(current.key))  # changed meanwhile
            after = conn.execute(self._select().where(self._t.key == raw_key)).one()
        return self._to_local(after)

    # -- writing -------------------------------------------------------------------------

    def _insert(self, contact_id: int, record: Record) -> LocalRecord:
        where = self._contact_where(contact_id)
        row_values: dict[Any, Any] = {
            self._t.contact_id: values.bind_contact_id(self._t.contact_id, contact_id),
            self._t.modified: values.bind_modified(
                self._t.modified, later_than(None, self._clock.now())
            ),
        }
        if self._settings.new_row_key is NewRowKey.CONTACT_ID:
            row_values[self._t.key] = values.bind_key(self._t.key, str(contact_id))
        if self._t.document is not None:
            row_values[self._t.document] = values.bind_document(self._t.document, record)
        else:
            row_values.update(self._mapped_values(record, where, current=None))
        try:
            with translated(self._where, "write", record=where), self._engine.begin() as conn:
                existing = self._rows_of(conn, contact_id)
                if existing:
                    self._to_local(self._only(existing, contact_id))  # malformed: say so
                    raise LocalConflictError(where)  # it appeared since the engine looked
                conn.execute(insert(self._t.table).values(row_values))
                after = conn.execute(
                    self._select().where(self._t.contact_id == row_values[self._t.contact_id])
                ).one()
        except LocalDataError as exc:
            if isinstance(exc.__cause__, IntegrityError) and self._key_taken(row_values):
                raise LocalConflictError(where) from exc.__cause__
            raise
        return self._to_local(after)

    def _key_taken(self, row_values: Mapping[Any, Any]) -> bool:
        if self._t.key not in row_values:
            return False
        with translated(self._where, "read"), self._engine.connect() as conn:
            query = select(func.count()).select_from(self._t.table)
            return bool(conn.execute(query.where(self._t.key == row_values[self._t.key])).scalar())

    def _changes(self, current: LocalRecord, record: Record) -> dict[Any, Any]:
        """Column -> new value, for what ``record`` changes; empty if it changes nothing."""
        if self._t.document is not None:
            merged = overlay(current.record, record)
            if merged == current.record:
                return {}
            return {self._t.document: values.bind_document(self._t.document, merged)}
        return self._mapped_values(record, self._row_where(current.key), current=current)

    def _mapped_values(
        self, record: Record, where: str, *, current: LocalRecord | None
    ) -> dict[Any, Any]:
        found: dict[Any, Any] = {}
        for mapped, column in self._t.mapped:
            present, value = value_at(record, mapped.path)
            if not present:
                continue  # not given: the column keeps what it has
            if current is not None and current.leaves is not None:
                stored = current.leaves.get(mapped.text)
                if type(stored) is type(value) and stored == value:
                    continue
            try:
                found[column] = values.bind_leaf(column, value)
            except ValueError as exc:
                raise LocalDataError(
                    where, f"column {column.name!r} cannot hold {value!r}: {exc}"
                ) from None
        return found

    # -- reading -------------------------------------------------------------------------

    def _select(self) -> Select[Any]:
        t = self._t
        chosen: list[ColumnElement[Any]] = [
            _raw(t.key, _KEY),
            _raw(t.contact_id, _CONTACT_ID),
            _raw(t.modified, _MODIFIED),
        ]
        if t.document is not None:
            chosen.append(_raw(t.document, _DOCUMENT))
        chosen += [_raw(column, f"c{n}") for n, (_, column) in enumerate(t.mapped)]
        return select(*chosen)

    def _rows_of(self, conn: Connection, contact_id: int) -> Sequence[Row[Any]]:
        bound = values.bind_contact_id(self._t.contact_id, contact_id)
        return conn.execute(self._select().where(self._t.contact_id == bound)).all()

    def _only(self, rows: Sequence[Row[Any]], contact_id: int) -> Row[Any]:
        if len(rows) > 1:
            keys = ", ".join(values.key_text(r._mapping[_KEY]) for r in rows)
            raise LocalDataError(
                self._contact_where(contact_id),
                f"it is in {len(rows)} rows ({self._t.key.name}: {keys}); "
                "which one is the contact cannot be told",
            )
        return rows[0]

    def _duplicate_contact_ids(self, conn: Connection) -> set[int]:
        column = self._t.contact_id
        query = (
            select(_raw(column, _CONTACT_ID))
            .where(column.is_not(None))
            .group_by(column)
            .having(func.count() > 1)
        )
        found: set[int] = set()
        for (raw,) in conn.execute(query):
            try:
                contact_id = values.read_contact_id(raw)
            except ValueError:
                continue  # such rows are reported as malformed on their own
            if contact_id is not None:
                found.add(contact_id)
        return found

    def _to_local(self, row: Row[Any]) -> LocalRecord:
        """One row as the port's record; LocalDataError if it is malformed."""
        data = row._mapping
        key = values.key_text(data[_KEY])
        where = self._row_where(key)
        try:
            contact_id = values.read_contact_id(data[_CONTACT_ID])
        except ValueError as exc:
            raise LocalDataError(where, f"column {self._t.contact_id.name!r}: {exc}") from None
        raw_modified = data[_MODIFIED]
        if raw_modified is None:
            raise LocalDataError(
                where,
                f"column {self._t.modified.name!r} is empty: without a modification time "
                "the row cannot be synced safely",
            )
        try:
            modified_at = as_utc(raw_modified)
        except ValueError as exc:
            raise LocalDataError(where, f"column {self._t.modified.name!r}: {exc}") from None
        if self._t.document is not None:
            document = values.read_document(data[_DOCUMENT], where)
            problem = id_problem(document, contact_id)
            if problem:
                raise LocalDataError(where, problem)
            return LocalRecord(key, contact_id, document, modified_at)
        leaves: dict[str, Any] = {}
        dialect = self._engine.dialect
        for n, (mapped, column) in enumerate(self._t.mapped):
            try:
                leaves[mapped.text] = values.read_leaf(column, dialect, data[f"c{n}"])
            except (ValueError, TypeError) as exc:
                raise LocalDataError(where, f"column {column.name!r}: {exc}") from None
        return LocalRecord(key, contact_id, {}, modified_at, leaves=leaves)

    def _known_unchanged(
        self, row: Row[Any], unchanged: UnchangedTest, duplicates: set[int]
    ) -> UnchangedRecord | None:
        """The row as an ``UnchangedRecord`` if the caller knows it at its present
        modification time; None when it must be read whole (``_to_local`` then says what
        is wrong with it, if anything)."""
        if unchanged is nothing_unchanged:
            return None
        data = row._mapping
        raw_modified = data[_MODIFIED]
        if raw_modified is None:
            return None
        try:
            contact_id = values.read_contact_id(data[_CONTACT_ID])
            modified_at = as_utc(raw_modified)
        except ValueError:
            return None
        if contact_id is None or contact_id in duplicates:
            return None
        if not unchanged(contact_id, modified_at):
            return None
        return UnchangedRecord(values.key_text(data[_KEY]), contact_id, modified_at)

    def _to_local_quietly(self, row: Row[Any]) -> LocalRecord | LocalDataError:
        try:
            return self._to_local(row)
        except LocalDataError as exc:
            return exc

    def _row_where(self, key: str) -> str:
        return f"{self._t.label} row {self._t.key.name}={key!r}"

    def _contact_where(self, contact_id: int) -> str:
        return f"{self._t.label} contact {contact_id}"
