"""The daemon's work queue in SQL: contacts waiting to be synced, shared by every worker.

One row per contact and organisation. Adding a contact that is already queued merges into
its row in ONE statement (an upsert), so racing producers (a webhook, the pull job, a
platform scan) never make two rows or lose one: the item becomes due at once, keeps the
more urgent priority and the newer fresh record, and its ``generation`` goes up. A
worker removes the item only if its generation is still the one it picked: a change that
arrived while it synced keeps the item, and the contact is synced again.

Which worker syncs which contact is decided by the run claims, not here: a worker skips
an item whose contact another worker holds.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from syncengine.domain.ports import Record, WorkItem
from syncengine.store.scoped import SqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import WorkItemRow, metadata
from syncengine.store.timestamps import as_utc

_TABLE = metadata.tables["work_queue"]


class SqlWorkQueue(SqlRepository):
    """``WorkQueue`` on SQLite or PostgreSQL, limited to one organisation's items."""

    _row_type = WorkItemRow

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
        values: dict[str, Any] = {
            "organization": self._organization,
            "contact_id": contact_id,
            "priority": int(priority),
            "reason": reason,
            "due_at": as_utc(now),
            "enqueued_at": as_utc(now),
            "attempts": 0,
            "fresh": fresh,
            "generation": 0,
        }
        with transaction(self._engine) as session:
            session.execute(self._merge(values, fresh is not None, renew))

    def get(self, contact_id: int) -> WorkItem | None:
        with transaction(self._engine) as session:
            row = session.get(WorkItemRow, (self._organization, contact_id))
            return None if row is None else _to_item(row)

    def _merge(self, values: Mapping[str, Any], has_fresh: bool, renew: bool) -> Insert:
        insert = (
            postgresql.insert(_TABLE)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(_TABLE)
        )
        statement = insert.values(dict(values))
        new = statement.excluded
        merged: dict[str, Any] = {
            "priority": case(
                (new.priority < _TABLE.c.priority, new.priority), else_=_TABLE.c.priority
            ),
            "due_at": case((new.due_at < _TABLE.c.due_at, new.due_at), else_=_TABLE.c.due_at),
        }
        if renew:
            merged["reason"] = new.reason
            merged["generation"] = _TABLE.c.generation + 1
        if has_fresh:
            merged["fresh"] = new.fresh
        return statement.on_conflict_do_update(
            index_elements=["organization", "contact_id"], set_=merged
        )

    def due(self, *, now: datetime, limit: int, max_priority: int | None = None) -> list[WorkItem]:
        conditions = [col(WorkItemRow.due_at) <= as_utc(now)]
        if max_priority is not None:
            conditions.append(col(WorkItemRow.priority) <= max_priority)
        statement = (
            select(WorkItemRow)
            .where(self._mine(*conditions))
            .order_by(
                col(WorkItemRow.priority), col(WorkItemRow.due_at), col(WorkItemRow.contact_id)
            )
            .limit(limit)
        )
        with transaction(self._engine) as session:
            return [_to_item(row) for row in session.exec(statement).all()]

    def done(self, contact_id: int, generation: int) -> None:
        statement = delete(WorkItemRow).where(
            self._mine(
                col(WorkItemRow.contact_id) == contact_id,
                col(WorkItemRow.generation) == generation,
            )
        )
        with transaction(self._engine) as session:
            session.execute(statement)

    def failed(
        self,
        contact_id: int,
        generation: int,
        *,
        error: str,
        retry_at: datetime,
        failed_at: datetime,
    ) -> None:
        self._update(
            contact_id,
            generation,
            attempts=col(WorkItemRow.attempts) + 1,
            last_error=error,
            due_at=as_utc(retry_at),
            failed_at=as_utc(failed_at),
        )

    def defer(self, contact_id: int, generation: int, *, until: datetime) -> None:
        self._update(contact_id, generation, due_at=as_utc(until))

    def _update(self, contact_id: int, generation: int, **values: Any) -> None:
        """Change the item the worker took (this generation of it), nothing newer."""
        statement = (
            update(WorkItemRow)
            .where(
                self._mine(
                    col(WorkItemRow.contact_id) == contact_id,
                    col(WorkItemRow.generation) == generation,
                )
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with transaction(self._engine) as session:
            session.execute(statement)

    def depth(self) -> int:
        statement = select(func.count()).select_from(WorkItemRow).where(self._mine())
        with transaction(self._engine) as session:
            return int(session.exec(statement).one())

    def queued(self, *, max_priority: int) -> dict[int, datetime | None]:
        statement = select(WorkItemRow.contact_id, WorkItemRow.failed_at).where(
            self._mine(col(WorkItemRow.priority) <= max_priority)
        )
        with transaction(self._engine) as session:
            return {contact_id: failed_at for contact_id, failed_at in session.exec(statement)}

    def failing(self) -> list[WorkItem]:
        statement = (
            select(WorkItemRow)
            .where(self._mine(col(WorkItemRow.attempts) > 0))
            .order_by(col(WorkItemRow.attempts).desc(), col(WorkItemRow.contact_id))
        )
        with transaction(self._engine) as session:
            return [_to_item(row) for row in session.exec(statement).all()]


def _to_item(row: WorkItemRow) -> WorkItem:
    return WorkItem(
        contact_id=row.contact_id,
        priority=row.priority,
        reason=row.reason,
        due_at=row.due_at,
        enqueued_at=row.enqueued_at,
        attempts=row.attempts,
        last_error=row.last_error,
        fresh=row.fresh,
        generation=row.generation,
        failed_at=row.failed_at,
    )
