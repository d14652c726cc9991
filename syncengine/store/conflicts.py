"""Conflicts in SQL: fields both sides changed, waiting for (or recorded for) review."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, literal, text, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from syncengine.domain.paths import field_of
from syncengine.domain.ports import (
    ConflictPage,
    ConflictQuery,
    ConflictRecord,
    ConflictStatus,
    suggested_side,
)
from syncengine.store.columns import UTCDateTime
from syncengine.store.conflict_rules import APPLY_ALLOWED, REFRESHED, RESOLVE_ALLOWED, spell
from syncengine.store.failures import ConflictStateError, MissingEntryError
from syncengine.store.scoped import ClockedSqlRepository, mine
from syncengine.store.sessions import connected, transaction
from syncengine.store.tables import OPEN_CONFLICT, ConflictRow, metadata
from syncengine.store.timestamps import as_utc, optional_utc
from syncengine.store.upsert import upsert

_TABLE = metadata.tables["conflicts"]
_OPEN_FIELD = ("organization", "contact_id", "path")
# The refreshed values, and the time they were refreshed.
_REFRESHED = (*REFRESHED, "field", "suggests", "updated_at")


def _listing(*, of_status: bool, of_contact: bool) -> Select[Any]:
    """``list``'s statement, filtering by status and/or contact, bound at execution."""
    conditions = []
    if of_status:
        conditions.append(_TABLE.c.status == bindparam("w_status"))
    if of_contact:
        conditions.append(_TABLE.c.contact_id == bindparam("w_contact_id"))
    return core_select(_TABLE).where(mine(_TABLE, *conditions)).order_by(_TABLE.c.id)


# ``list``'s statements, built once (see ``scoped.mine``), by (of a status, of a contact).
_LISTINGS = {
    (of_status, of_contact): _listing(of_status=of_status, of_contact=of_contact)
    for of_status in (False, True)
    for of_contact in (False, True)
}


class SqlConflictStore(ClockedSqlRepository):
    """``ConflictStore`` on SQLite or PostgreSQL, limited to one organisation's conflicts.

    ``created_at`` and ``updated_at`` belong to the store: they are stamped with ``clock``
    and any values given in a ``ConflictRecord`` are ignored, as is its ``id``.
    """

    _row_type = ConflictRow

    def record(self, conflict: ConflictRecord) -> ConflictRecord:
        """Insert ``conflict``; if it is OPEN and its field already has an open conflict,
        refresh that one instead. Returns what is stored (with its id).

        One upsert against the partial unique index ``uq_conflicts_one_open_per_field``:
        two workers recording the same field at once end with one open row, not two and
        not a duplicate-key error. A non-open conflict is outside the index's predicate,
        so it never matches and is always inserted.
        """
        now = as_utc(self._clock())
        values = _row_values(conflict, now)
        values["organization"] = self._organization
        statement = upsert(
            self._engine.dialect.name,
            _TABLE,
            values,
            key=_OPEN_FIELD,
            update=_REFRESHED,
            key_where=text(OPEN_CONFLICT),
        ).returning(_TABLE.c.id)
        with transaction(self._engine) as session:
            conflict_id: int = session.exec(statement).scalar_one()
            return _to_record(self._load(session, conflict_id))

    def get(self, conflict_id: int) -> ConflictRecord | None:
        with transaction(self._engine) as session:
            row = self._find(session, conflict_id)
            return None if row is None else _to_record(row)

    def contacts_with(self, status: ConflictStatus, *, unapplied: bool = False) -> set[int]:
        statement = (
            select(ConflictRow.contact_id)
            .where(self._mine(col(ConflictRow.status) == ConflictStatus(status).value))
            .distinct()
        )
        if unapplied:
            statement = statement.where(col(ConflictRow.applied_at).is_(None))
        with transaction(self._engine) as session:
            return set(session.exec(statement).all())

    def list(
        self, *, status: ConflictStatus | None = None, contact_id: int | None = None
    ) -> Sequence[ConflictRecord]:
        """This organisation's conflicts, optionally of one status and/or contact, by id."""
        statement = _LISTINGS[status is not None, contact_id is not None]
        parameters = self._params()
        if contact_id is not None:
            parameters["w_contact_id"] = contact_id
        if status is not None:
            parameters["w_status"] = ConflictStatus(status).value
        with connected(self._engine) as connection:
            return [_to_record(row) for row in connection.execute(statement, parameters)]

    def resolve(
        self,
        conflict_id: int,
        value: Any,
        *,
        resolved_by: str,
        at: datetime,
        resolved_from: str | None = None,
    ) -> ConflictRecord:
        """A data manager chose ``value`` (any JSON value, null included) for an OPEN conflict.

        Raises ``MissingEntryError`` for an unknown id and ``ConflictStateError`` for a
        conflict that is not open (e.g. someone else resolved it first: their choice
        stands). One conditional UPDATE, so of two racing resolvers exactly one wins.
        """
        values = {
            "status": ConflictStatus.RESOLVED.value,
            "resolution": value,
            "resolved_by": resolved_by,
            "resolved_at": as_utc(at),
            "resolved_from": resolved_from,
            "updated_at": as_utc(self._clock()),
        }
        only_if = col(ConflictRow.status).in_([status.value for status in RESOLVE_ALLOWED])
        with transaction(self._engine) as session:
            if not self._update(session, conflict_id, only_if, values):
                raise self._refusal(session, conflict_id, "resolved", RESOLVE_ALLOWED)
            return _to_record(self._load(session, conflict_id))

    def page(self, query: ConflictQuery) -> ConflictPage:
        """One page of what ``query`` selects, in its order (ties by id), and the total."""
        where = self._mine(*_conditions(query))
        # Every ConflictSort is a column's name.
        order, tie = _TABLE.c[query.sort], _TABLE.c.id
        ordering = (order.desc(), tie.desc()) if query.descending else (order.asc(), tie.asc())
        statement = (
            select(ConflictRow)
            .where(where)
            .order_by(*ordering)
            .offset(max(query.offset, 0))
            .limit(max(query.limit, 0))
        )
        counting = select(func.count()).select_from(ConflictRow).where(where)
        with transaction(self._engine) as session:
            total: int = session.exec(counting).one()
            rows = session.exec(statement).all()
            return ConflictPage([_to_record(row) for row in rows], total)

    def fields(self, *, status: ConflictStatus | None = ConflictStatus.OPEN) -> dict[str, int]:
        statement = select(ConflictRow.field, func.count()).where(
            self._mine(*_conditions(ConflictQuery(status=status)))
        )
        with transaction(self._engine) as session:
            found = session.exec(statement.group_by(col(ConflictRow.field))).all()
            return {field: count for field, count in found}

    def mark_applied(self, conflict_id: int, at: datetime) -> None:
        """The resolved (or automatically decided) value reached both sides.

        The first ``at`` is kept: marking again (a re-run after a crash) changes nothing.
        An OPEN conflict has nothing to apply: ``ConflictStateError``.
        """
        first_time = func.coalesce(col(ConflictRow.applied_at), literal(as_utc(at), UTCDateTime()))
        values = {"applied_at": first_time, "updated_at": as_utc(self._clock())}
        only_if = col(ConflictRow.status).in_([status.value for status in APPLY_ALLOWED])
        with transaction(self._engine) as session:
            if not self._update(session, conflict_id, only_if, values):
                raise self._refusal(session, conflict_id, "marked applied", APPLY_ALLOWED)

    # -- helpers ---------------------------------------------------------------------------

    def _one(self, conflict_id: int) -> ColumnElement[bool]:
        return self._mine(col(ConflictRow.id) == conflict_id)

    def _find(self, session: Session, conflict_id: int) -> ConflictRow | None:
        return session.exec(select(ConflictRow).where(self._one(conflict_id))).first()

    def _load(self, session: Session, conflict_id: int) -> ConflictRow:
        row = self._find(session, conflict_id)
        if row is None:  # pragma: no cover - read in the transaction that wrote it
            raise MissingEntryError(self._missing(conflict_id))
        return row

    def _update(
        self,
        session: Session,
        conflict_id: int,
        only_if: ColumnElement[bool],
        values: dict[str, Any],
    ) -> bool:
        statement = (
            update(ConflictRow)
            .where(self._one(conflict_id), only_if)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return session.exec(statement).rowcount == 1

    def _refusal(
        self,
        session: Session,
        conflict_id: int,
        action: str,
        allowed: frozenset[ConflictStatus],
    ) -> MissingEntryError | ConflictStateError:
        """Why a conditional update matched nothing: no such conflict, or the wrong state."""
        row = self._find(session, conflict_id)
        if row is None:
            return MissingEntryError(self._missing(conflict_id))
        return ConflictStateError(conflict_id, row.status, action, spell(allowed))

    def _missing(self, conflict_id: int) -> str:
        return f"conflict {conflict_id} does not exist in {self._organization!r}"


def _conditions(query: ConflictQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``query`` (the organisation's apart)."""
    found: list[ColumnElement[bool]] = []
    if query.status is not None:
        found.append(col(ConflictRow.status) == ConflictStatus(query.status).value)
    if query.contact_id is not None:
        found.append(col(ConflictRow.contact_id) == query.contact_id)
    if query.field is not None:
        found.append(col(ConflictRow.field) == query.field)
    if query.rule is not None:
        found.append(col(ConflictRow.rule) == query.rule)
    if query.suggests is not None:
        found.append(col(ConflictRow.suggests) == query.suggests)
    if query.created_after is not None:
        found.append(col(ConflictRow.created_at) >= as_utc(query.created_after))
    if query.created_before is not None:
        found.append(col(ConflictRow.created_at) < as_utc(query.created_before))
    return found


def _row_values(conflict: ConflictRecord, now: datetime) -> dict[str, Any]:
    """The columns of a new row for ``conflict`` (without the organisation)."""
    return {
        "contact_id": conflict.contact_id,
        "path": conflict.path,
        "field": field_of(conflict.path),
        "suggests": suggested_side(conflict),
        # JSON columns: None is stored as JSON null (see ConflictRow).
        "base": conflict.base,
        "platform": conflict.platform,
        "crm": conflict.crm,
        "platform_modified": optional_utc(conflict.platform_modified),
        "crm_modified": optional_utc(conflict.crm_modified),
        "platform_author": conflict.platform_author,
        "crm_author": conflict.crm_author,
        "suggestion": conflict.suggestion,
        "rule": conflict.rule,
        "status": ConflictStatus(conflict.status).value,
        "resolution": conflict.resolution,
        "resolved_by": conflict.resolved_by,
        "resolved_at": optional_utc(conflict.resolved_at),
        "resolved_from": conflict.resolved_from,
        "applied_at": optional_utc(conflict.applied_at),
        "created_at": now,
        "updated_at": now,
    }


def _to_record(row: ConflictRow | Row[Any]) -> ConflictRecord:
    return ConflictRecord(
        id=row.id,
        contact_id=row.contact_id,
        path=row.path,
        base=row.base,
        platform=row.platform,
        crm=row.crm,
        platform_modified=row.platform_modified,
        crm_modified=row.crm_modified,
        platform_author=row.platform_author,
        crm_author=row.crm_author,
        suggestion=row.suggestion,
        rule=row.rule,
        status=ConflictStatus(row.status),
        resolution=row.resolution,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolved_from=row.resolved_from,
        applied_at=row.applied_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
