"""Revision 0002 on a database already in use at 0001: rows survive, constraints survive,
and the downgrade refuses to drop what 0001 cannot hold."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table, inspect
from sqlalchemy.exc import IntegrityError

from syncengine.domain.ports import Outcome
from syncengine.store import (
    SqlJournal,
    SqlMirrorStore,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from syncengine.store.check_migrations import model_differences
from syncengine.store.scripts import alembic_config
from tests.store.conftest import make_create

FETCHED = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
STARTED = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
RECORD = {"id": 1001, "name": "Ada", "customFields": [{"name": "Chapter", "value": None}]}


@pytest.fixture
def engine_at_0001(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine, "0001")
    yield engine
    engine.dispose()


def reflected(engine: Engine, name: str) -> Table:
    """The table as the database has it now (the models describe the newest revision)."""
    return Table(name, MetaData(), autoload_with=engine)


def journal_row_at_0001(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "organization": "default",
        "contact_id": 1001,
        "method": "PUT",
        "endpoint": "/api/Contact/1001",
        "fields": ["name"],
        "before": {"name": None},
        "after": {"name": "Ada"},
        "response_after": {},
        "outcome": "pending",
        "note": None,
        "concurrent_write_suspected": False,
        "started_at": STARTED,
    }
    row.update(changes)
    return row


def fill_0001(engine: Engine) -> None:
    """A mirrored contact and three journal entries (ids 1, 2, 3), written as 0001 had them."""
    mirror, journal = reflected(engine, "mirror"), reflected(engine, "journal")
    with engine.begin() as connection:
        connection.execute(
            mirror.insert(),
            [
                {
                    "organization": "default",
                    "contact_id": 1001,
                    "record": RECORD,
                    "modified_raw": "2024-03-31T10:00:00",
                    "content_hash": "a" * 64,
                    "fetched_at": FETCHED,
                    "archived": False,
                }
            ],
        )
        # One by one, in order, and with the ids left to the database (an explicit id would
        # not move PostgreSQL's sequence on).
        for row in (
            journal_row_at_0001(),
            journal_row_at_0001(outcome="ok", note="done"),
            journal_row_at_0001(organization="north", contact_id=7),
        ):
            connection.execute(journal.insert(), [row])


def test_upgrading_from_0001_keeps_mirror_and_journal_rows(engine_at_0001: Engine) -> None:
    fill_0001(engine_at_0001)

    upgrade(engine_at_0001)

    assert current_revision(engine_at_0001) == head_revision()
    mirrored = SqlMirrorStore(engine_at_0001).get(1001)
    assert mirrored is not None
    assert (mirrored.record, mirrored.content_hash, mirrored.fetched_at) == (
        RECORD,
        "a" * 64,
        FETCHED,
    )
    journal = SqlJournal(engine_at_0001)
    pending, done = journal.for_contact(1001)
    assert (pending.id, pending.outcome, pending.after) == (1, Outcome.PENDING, {"name": "Ada"})
    assert (done.id, done.outcome, done.note) == (2, Outcome.OK, "done")
    assert pending.started_at == STARTED
    assert pending.local_key is None
    assert [entry.id for entry in SqlJournal(engine_at_0001, "north").pending()] == [3]


def test_after_the_upgrade_new_entries_follow_the_old_ids_and_creates_are_possible(
    engine_at_0001: Engine,
) -> None:
    fill_0001(engine_at_0001)
    upgrade(engine_at_0001)

    entry_id = SqlJournal(engine_at_0001).open(make_create("member-42"))

    assert entry_id > 3
    assert [e.id for e in SqlJournal(engine_at_0001).pending_for_key("member-42")] == [entry_id]


def test_the_upgraded_journal_keeps_its_constraints_indexes_and_defaults(
    engine_at_0001: Engine,
) -> None:
    # On SQLite the journal is copied into a new table: nothing may be lost on the way.
    fill_0001(engine_at_0001)
    upgrade(engine_at_0001)

    inspector = inspect(engine_at_0001)
    assert {c["name"] for c in inspector.get_check_constraints("journal")} == {"ck_journal_outcome"}
    assert {i["name"] for i in inspector.get_indexes("journal")} == {
        "ix_journal_organization_outcome",
        "ix_journal_organization_contact_id",
        "ix_journal_organization_local_key",
        "ix_journal_organization_outside_carried_at",  # 0003's
    }
    assert model_differences(engine_at_0001) == []
    journal = reflected(engine_at_0001, "journal")
    with pytest.raises(IntegrityError), engine_at_0001.begin() as connection:
        connection.execute(journal.insert(), [journal_row_at_0001(outcome="bogus")])
    defaults = journal_row_at_0001(contact_id=55)
    del defaults["organization"], defaults["concurrent_write_suspected"]
    with engine_at_0001.begin() as connection:
        connection.execute(journal.insert(), [defaults])
    (stored,) = SqlJournal(engine_at_0001).for_contact(55)  # organisation "default"
    assert stored.concurrent_write_suspected is False


def test_downgrade_is_refused_while_a_create_has_no_contact_id(db_engine: Engine) -> None:
    journal = SqlJournal(db_engine)
    create = journal.open(make_create("member-42"))

    with (
        pytest.raises(RuntimeError, match="1 journal entries have no contact id"),
        db_engine.begin() as connection,
    ):
        command.downgrade(alembic_config(connection=connection), "0001")
    assert current_revision(db_engine) == head_revision()

    journal.close(create, Outcome.OK, contact_id=5005)
    with db_engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0001")
    assert current_revision(db_engine) == "0001"
    assert "conflicts" not in inspect(db_engine).get_table_names()
    with db_engine.connect() as connection:
        rows = connection.execute(reflected(db_engine, "journal").select()).all()
    assert [(row.id, row.contact_id) for row in rows] == [(create, 5005)]
