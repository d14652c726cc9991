"""What the SQL mirror stores beyond the MirrorEntry: the parsed modification time, and
timestamps as real UTC instants (checked by reading the rows directly)."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, text
from sqlmodel import col, select

from syncengine.store import SqlMirrorStore
from syncengine.store.tables import MirrorRow
from tests.store.conftest import make_entry


def stored_modified_at(engine: Engine, contact_id: int) -> datetime | None:
    with engine.connect() as connection:
        statement = select(col(MirrorRow.modified_at)).where(
            col(MirrorRow.contact_id) == contact_id
        )
        return connection.execute(statement).scalar_one()


def test_crm_modification_time_is_parsed_for_ordering(db_engine: Engine) -> None:
    SqlMirrorStore(db_engine).put(make_entry(1, modified_raw="2024-04-30T10:15:00.1234567"))

    assert stored_modified_at(db_engine, 1) == datetime(2024, 4, 30, 10, 15, 0, 123456, tzinfo=UTC)


def test_crm_modification_time_in_another_zone_is_converted_to_utc(db_engine: Engine) -> None:
    eastern = timezone(timedelta(hours=-5))
    SqlMirrorStore(db_engine, timestamp_zone=eastern).put(
        make_entry(1, modified_raw="2024-04-30T10:15:00")
    )

    assert stored_modified_at(db_engine, 1) == datetime(2024, 4, 30, 15, 15, tzinfo=UTC)


def test_unparseable_or_missing_modification_time_is_kept_raw_and_not_parsed(
    db_engine: Engine,
) -> None:
    store = SqlMirrorStore(db_engine)
    store.put(make_entry(1, modified_raw="yesterday-ish"))
    store.put(make_entry(2, modified_raw=None))

    entry = store.get(1)
    assert entry is not None
    assert entry.modified_raw == "yesterday-ish"
    assert stored_modified_at(db_engine, 1) is None
    assert stored_modified_at(db_engine, 2) is None


def test_timestamps_are_stored_as_utc_instants(db_engine: Engine) -> None:
    two_hours_east = timezone(timedelta(hours=2))
    SqlMirrorStore(db_engine).put(
        make_entry(1, fetched_at=datetime(2024, 5, 1, 14, 0, tzinfo=two_hours_east))
    )

    with db_engine.connect() as connection:
        if db_engine.dialect.name == "postgresql":
            # Rendered in UTC whatever the session's zone: the instant itself is right.
            connection.execute(text("SET TIME ZONE 'UTC'"))
            raw = connection.execute(text("SELECT fetched_at::text FROM mirror")).scalar_one()
            assert raw == "2024-05-01 12:00:00+00"
        else:
            raw = connection.execute(text("SELECT fetched_at FROM mirror")).scalar_one()
            assert raw.startswith("2024-05-01 12:00:00")
