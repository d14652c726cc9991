"""What the conflicts table itself guarantees, below the repository: one open conflict
per field, valid statuses only, and JSON null stored as JSON (read straight from the rows)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from syncengine.store import SqlConflictStore
from syncengine.store.tables import metadata
from tests.store.conftest import make_conflict

CONFLICTS = metadata.tables["conflicts"]
NOW = datetime(2024, 5, 1, tzinfo=UTC)


def raw_conflict(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "organization": "default",
        "contact_id": 1,
        "path": "name",
        "base": None,
        "platform": "a",
        "crm": "b",
        "suggestion": "b",
        "rule": "manual",
        "status": "open",
        "resolution": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    row.update(changes)
    return row


def insert(engine: Engine, *rows: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(CONFLICTS.insert(), list(rows))


def test_the_database_refuses_a_second_open_conflict_on_one_field(db_engine: Engine) -> None:
    insert(db_engine, raw_conflict())

    with pytest.raises(IntegrityError):
        insert(db_engine, raw_conflict(crm="c"))


def test_the_database_allows_closed_conflicts_and_other_fields_beside_an_open_one(
    db_engine: Engine,
) -> None:
    insert(
        db_engine,
        raw_conflict(),
        raw_conflict(status="resolved"),
        raw_conflict(status="resolved"),
        raw_conflict(status="auto"),
        raw_conflict(path="email"),
        raw_conflict(contact_id=2),
        raw_conflict(organization="north"),
    )

    with db_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(CONFLICTS)).scalar() == 7


def test_the_database_refuses_an_unknown_status(db_engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        insert(db_engine, raw_conflict(status="closed"))


def test_none_is_stored_as_json_null_not_as_a_missing_value(db_engine: Engine) -> None:
    SqlConflictStore(db_engine).record(make_conflict(base=None, suggestion=None))

    with db_engine.connect() as connection:
        sql_nulls = connection.execute(
            select(func.count())
            .select_from(CONFLICTS)
            .where(CONFLICTS.c.base.is_(None) | CONFLICTS.c.resolution.is_(None))
        ).scalar()
    assert sql_nulls == 0
