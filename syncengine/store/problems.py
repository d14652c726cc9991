"""Problems in SQL: the latest failure of each contact or platform record that is not a
conflict (a refused write, a duplicate, a merge, a malformed record), for reports."""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text, update
from sqlmodel import col, select

from syncengine.domain.ports import Problem, ProblemKind
from syncengine.store.scoped import SqlRepository, mine
from syncengine.store.sessions import connected, transaction
from syncengine.store.tables import OPEN_PROBLEM, ProblemRow, metadata
from syncengine.store.timestamps import as_utc
from syncengine.store.upsert import upsert_statement

_TABLE = metadata.tables["problems"]
# What a repeated failure refreshes: the latest says best what is wrong now.
_REFRESHED = ("contact_id", "local_key", "kind", "message", "details", "last_seen")

# The arbiter of ``report``'s upsert: one object for good (``upsert_statement``'s key).
_OPEN = text(OPEN_PROBLEM)
# Built once (see ``scoped.mine``): executed with ``resolved_at``, its SET clause.
_RESOLVE = update(_TABLE).where(
    mine(_TABLE, _TABLE.c.subject == bindparam("w_subject"), _TABLE.c.resolved_at.is_(None))
)


class SqlProblemLog(SqlRepository):
    """``ProblemLog`` on SQLite or PostgreSQL, limited to one organisation's problems."""

    _row_type = ProblemRow

    def report(self, problem: Problem, *, at: datetime) -> None:
        """One upsert against ``uq_problems_one_open_per_subject``: two workers failing on
        one subject at once leave one open row, counted twice."""
        when = as_utc(at)
        values: dict[str, Any] = {
            "organization": self._organization,
            "subject": problem.subject,
            "contact_id": problem.contact_id,
            "local_key": problem.key,
            "kind": ProblemKind(problem.kind).value,
            "message": problem.message,
            "details": list(problem.details),
            "count": 1,
            "first_seen": when,
            "last_seen": when,
        }
        statement = upsert_statement(
            self._engine.dialect.name,
            _TABLE,
            key=("organization", "subject"),
            update=_REFRESHED,
            key_where=_OPEN,
            increment=("count",),
        )
        with connected(self._engine) as connection:
            connection.execute(statement, values)

    def resolve(self, subject: str, *, at: datetime) -> None:
        parameters = self._params(w_subject=subject, resolved_at=as_utc(at))
        with connected(self._engine) as connection:
            connection.execute(_RESOLVE, parameters)

    def list(
        self,
        *,
        only_open: bool = True,
        since: datetime | None = None,
        contact_id: int | None = None,
    ) -> list[Problem]:
        statement = select(ProblemRow).where(self._mine())
        if only_open:
            statement = statement.where(col(ProblemRow.resolved_at).is_(None))
        if since is not None:
            statement = statement.where(col(ProblemRow.last_seen) >= as_utc(since))
        if contact_id is not None:
            statement = statement.where(col(ProblemRow.contact_id) == contact_id)
        statement = statement.order_by(col(ProblemRow.last_seen).desc(), col(ProblemRow.id).desc())
        with transaction(self._engine) as session:
            return [_to_problem(row) for row in session.exec(statement).all()]


def _to_problem(row: ProblemRow) -> Problem:
    return Problem(
        subject=row.subject,
        kind=ProblemKind(row.kind),
        message=row.message,
        contact_id=row.contact_id,
        key=row.local_key,
        details=list(row.details),
        count=row.count,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        id=row.id,
    )
