"""The runs of the daemon's jobs in SQL: for ``status``, the metrics and the logs."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from syncengine.domain.ports import JobRun
from syncengine.store.failures import MissingEntryError
from syncengine.store.scoped import SqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import JobRunRow
from syncengine.store.timestamps import as_utc


class SqlRunLog(SqlRepository):
    """``RunLog`` on SQLite or PostgreSQL, limited to one organisation's runs."""

    _row_type = JobRunRow

    def start(self, run: JobRun) -> None:
        row = JobRunRow(
            organization=self._organization,
            job=run.job,
            run_id=run.run_id,
            worker=run.worker,
            started_at=as_utc(run.started_at),
            counts=dict(run.counts),
        )
        with transaction(self._engine) as session:
            session.add(row)

    def finish(
        self,
        run_id: str,
        *,
        outcome: str,
        at: datetime,
        counts: Mapping[str, int] | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"outcome": outcome, "finished_at": as_utc(at), "error": error}
        if counts is not None:
            values["counts"] = dict(counts)
        statement = (
            update(JobRunRow)
            .where(self._mine(col(JobRunRow.run_id) == run_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with transaction(self._engine) as session:
            if session.exec(statement).rowcount != 1:
                raise MissingEntryError(f"no job run {run_id!r} in {self._organization!r}")

    def latest(self, limit: int = 20) -> list[JobRun]:
        statement = (
            select(JobRunRow)
            .where(self._mine())
            .order_by(col(JobRunRow.started_at).desc(), col(JobRunRow.id).desc())
            .limit(limit)
        )
        with transaction(self._engine) as session:
            return [
                JobRun(
                    job=row.job,
                    run_id=row.run_id,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    outcome=row.outcome,
                    counts=dict(row.counts),
                    error=row.error,
                    worker=row.worker,
                )
                for row in session.exec(statement).all()
            ]
