"""The request budget's token bucket in SQL, shared by every process of an organisation.

One row per organisation. Taking a token is one short transaction that first LOCKS the
row with a no-op update (PostgreSQL: a row lock; SQLite: the database's write lock, for
which ``busy_timeout`` waits) and only then reads it: two processes never both see the
last token. Tokens come back at ``rate`` a second up to ``capacity`` (a burst), and CRM+'s
own count (``X-RateLimit-Remaining``, less the reserve) caps them: the organisation's
other integrations spend the same budget.
"""

from sqlalchemy import Connection, Update, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from syncengine.store.scoped import SqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import BudgetRow, metadata

_TABLE = metadata.tables["request_budget"]


# A token that refilled to 0.9999999999 is a whole one: float arithmetic must not leave a
# waiter sleeping ever shorter waits for the last billionth.
_EPSILON = 1e-9


class SqlBudgetLedger(SqlRepository):
    """``BudgetLedger`` on SQLite or PostgreSQL, one organisation's bucket."""

    _row_type = BudgetRow

    def take(self, *, now: float, rate: float, capacity: float) -> float:
        with transaction(self._engine) as session:
            self._ensure(session.connection(), now, capacity)
            session.exec(self._lock())
            row = session.exec(select(BudgetRow).where(self._mine())).one()
            tokens = min(capacity, row.tokens + max(0.0, now - row.updated_at) * rate)
            granted = tokens >= 1.0 - _EPSILON
            # Never back in time: a process that read its clock before another one took
            # the lock and wrote a later time must not rewind the bucket, or the seconds
            # between the two would be refilled twice (found by four racing processes).
            refilled_to = max(now, row.updated_at)
            session.exec(
                update(BudgetRow)
                .where(self._mine())
                .values(
                    tokens=max(tokens - 1.0, 0.0) if granted else tokens, updated_at=refilled_to
                )
                .execution_options(synchronize_session=False)
            )
        if granted:
            return 0.0
        return (1.0 - tokens) / rate if rate > 0 else float("inf")

    def correct(self, *, now: float, available: float) -> None:
        with transaction(self._engine) as session:
            self._ensure(session.connection(), now, max(available, 0.0))
            session.exec(
                update(BudgetRow)
                .where(self._mine(col(BudgetRow.tokens) > available))
                .values(tokens=max(available, 0.0))
                .execution_options(synchronize_session=False)
            )

    def _ensure(self, connection: Connection, now: float, tokens: float) -> None:
        """The organisation's row, created full the first time (one statement, no race)."""
        values = {"organization": self._organization, "tokens": tokens, "updated_at": now}
        insert = (
            postgresql.insert(_TABLE)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(_TABLE)
        )
        connection.execute(
            insert.values(values).on_conflict_do_nothing(index_elements=["organization"])
        )

    def _lock(self) -> Update:
        """A no-op update of the row: it takes the lock before anything is read."""
        return (
            update(BudgetRow)
            .where(self._mine())
            .values(tokens=BudgetRow.tokens)
            .execution_options(synchronize_session=False)
        )
