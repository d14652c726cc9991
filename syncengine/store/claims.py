"""Run claims in SQL: one process at a time per contact (or new platform record).

Taking a claim is ONE statement, ``INSERT ... ON CONFLICT (organization, subject) DO
UPDATE ... WHERE <the claim is expired or already ours>``, so the database decides
between racing processes:

- PostgreSQL: a second inserter waits on the first one's row and then evaluates the
  ``WHERE`` against it (committed): not expired, not ours, no update, 0 rows;
- SQLite: writers are serialised by the database lock (``busy_timeout`` waits for it),
  across processes too, so the statement sees the winner's row.

A claim is valid until ``until``; its holder renews all its claims at once (one UPDATE
by owner) while it works. A crashed holder stops renewing and its claims expire.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

from syncengine.domain.ports import Claim
from syncengine.store.scoped import SqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import ClaimRow, metadata
from syncengine.store.timestamps import as_utc

_TABLE = metadata.tables["claims"]


class SqlClaimStore(SqlRepository):
    """``ClaimStore`` on SQLite or PostgreSQL, limited to one organisation's claims."""

    _row_type = ClaimRow

    def acquire(
        self, subject: str, owner: str, *, until: datetime, now: datetime, purpose: str | None
    ) -> Claim | None:
        values = {
            "organization": self._organization,
            "subject": subject,
            "owner": owner,
            "until": as_utc(until),
            "acquired_at": as_utc(now),
            "purpose": purpose,
        }
        with transaction(self._engine) as session:
            # RETURNING, not rowcount: drivers disagree on the rowcount of an upsert.
            taken = session.execute(self._take(values, owner, as_utc(now))).first() is not None
            if taken:
                return None
            row = session.get(ClaimRow, (self._organization, subject))
            # Gone between the two statements (released): report it as free-but-lost,
            # the caller simply tries again later.
            return None if row is None else _to_claim(row)

    def _take(self, values: dict[str, object], owner: str, now: datetime) -> Insert:
        taken_over = or_(_TABLE.c.until <= now, _TABLE.c.owner == owner)
        update_columns = ("owner", "until", "acquired_at", "purpose")
        if self._engine.dialect.name == "postgresql":
            pg = postgresql.insert(_TABLE).values(values)
            return pg.on_conflict_do_update(
                index_elements=["organization", "subject"],
                set_={name: pg.excluded[name] for name in update_columns},
                where=taken_over,
            ).returning(_TABLE.c.owner)
        lite = sqlite.insert(_TABLE).values(values)
        return lite.on_conflict_do_update(
            index_elements=["organization", "subject"],
            set_={name: lite.excluded[name] for name in update_columns},
            where=taken_over,
        ).returning(_TABLE.c.owner)

    def renew(self, owner: str, *, until: datetime) -> list[str]:
        statement = (
            update(ClaimRow)
            .where(self._mine(col(ClaimRow.owner) == owner))
            .values(until=as_utc(until))
            .execution_options(synchronize_session=False)
        )
        subjects = select(ClaimRow.subject).where(self._mine(col(ClaimRow.owner) == owner))
        with transaction(self._engine) as session:
            session.exec(statement)
            return sorted(session.exec(subjects).all())

    def release(self, subject: str, owner: str) -> None:
        statement = delete(ClaimRow).where(
            self._mine(col(ClaimRow.subject) == subject, col(ClaimRow.owner) == owner)
        )
        with transaction(self._engine) as session:
            session.exec(statement)

    def release_all(self, owner: str) -> None:
        statement = delete(ClaimRow).where(self._mine(col(ClaimRow.owner) == owner))
        with transaction(self._engine) as session:
            session.exec(statement)

    def held(self, *, now: datetime) -> Sequence[Claim]:
        statement = (
            select(ClaimRow)
            .where(self._mine(col(ClaimRow.until) > as_utc(now)))
            .order_by(col(ClaimRow.subject))
        )
        with transaction(self._engine) as session:
            return [_to_claim(row) for row in session.exec(statement).all()]


def _to_claim(row: ClaimRow) -> Claim:
    return Claim(
        subject=row.subject,
        owner=row.owner,
        until=row.until,
        acquired_at=row.acquired_at,
        purpose=row.purpose,
    )
