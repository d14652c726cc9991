"""Revision 0007 on a database in use at 0006: the queued items survive the new column
``work_queue.failed_at`` both ways, and those that failed before it keep their backoff."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, insert, select

from syncengine.domain.ports import Priority
from syncengine.store import SqlWorkQueue, make_engine, upgrade
from syncengine.store.scripts import alembic_config

FAILED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RETRY = FAILED + timedelta(hours=1)


@pytest.fixture
def engine_at_0006(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine, "0006")
    table = Table("work_queue", MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(
            insert(table),
            [
                {
                    "organization": "default",
                    "contact_id": 4821,
                    "priority": int(Priority.PUSH),
                    "reason": "platform",
                    "due_at": RETRY,
                    "enqueued_at": FAILED,
                    "attempts": 3,
                    "last_error": "HTTP 422",
                    "generation": 2,
                }
            ],
        )
    yield engine
    engine.dispose()


def test_an_item_that_failed_before_0007_keeps_its_attempts_and_its_backoff(
    engine_at_0006: Engine,
) -> None:
    upgrade(engine_at_0006)
    queue = SqlWorkQueue(engine_at_0006)

    item = queue.get(4821)
    assert item is not None
    assert (item.attempts, item.last_error, item.due_at, item.generation) == (
        3,
        "HTTP 422",
        RETRY,
        2,
    )
    # Its failure time is unknown: the push job leaves it to its backoff, as before.
    assert item.failed_at is None
    assert queue.queued(max_priority=Priority.PUSH) == {4821: None}
    queue.failed(4821, 2, error="HTTP 422", retry_at=RETRY, failed_at=FAILED)
    assert queue.queued(max_priority=Priority.PUSH) == {4821: FAILED}


def test_the_downgrade_to_0006_drops_the_column_and_keeps_the_items(
    engine_at_0006: Engine,
) -> None:
    upgrade(engine_at_0006)
    queue = SqlWorkQueue(engine_at_0006)
    queue.failed(4821, 2, error="HTTP 422", retry_at=RETRY, failed_at=FAILED)

    with engine_at_0006.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0006")

    table = Table("work_queue", MetaData(), autoload_with=engine_at_0006)
    assert "failed_at" not in table.c
    with engine_at_0006.connect() as connection:
        rows = connection.execute(select(table.c.contact_id, table.c.attempts)).all()
    assert [tuple(row) for row in rows] == [(4821, 4)]
