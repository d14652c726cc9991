"""The sql adapter beyond the contract: options, column mapping, timestamps, errors."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
    text,
    update,
)

from syncengine.domain.ports import LocalRecord
from syncengine.errors import ConfigError, LocalConflictError, LocalDataError
from syncengine.local import LocalPlatformError, SqlPlatform
from syncengine.local.sql.platform import PAGE_SIZE
from tests.fixtures.db import backend_params, fresh_database_url
from tests.local.harness import MAPPING, StepClock, contact, members_table

T0 = datetime(2024, 5, 1, 12, 0)


@pytest.fixture(params=backend_params())
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(request.param, tmp_path) as made:
        yield made


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'platform.db'}"


def engine_for(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture
def db(url: str) -> Iterator[Engine]:
    engine = engine_for(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Engine]:
    engine = create_engine(sqlite_url)
    yield engine
    engine.dispose()


def members_options(url: str, **changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "url": url,
        "table": "members",
        "key_column": "member_id",
        "contact_id_column": "crm_id",
        "modified_column": "updated",
        "columns": dict(MAPPING),
    }
    options.update(changes)
    return {"adapter": "sql", "reference_source": "portal", "sql": options}


def make_members(engine: Engine) -> Table:
    metadata = MetaData()
    table = members_table(metadata)
    metadata.create_all(engine)
    return table


def open_platform(options: dict[str, Any]) -> SqlPlatform:
    return SqlPlatform.from_options(options, clock=StepClock())


@pytest.fixture
def members(db: Engine, url: str) -> Iterator[tuple[Table, SqlPlatform]]:
    table = make_members(db)
    platform = open_platform(members_options(url))
    yield table, platform
    platform.close()


def row(engine: Engine, table: Table, **where: Any) -> dict[str, Any]:
    (column, value), *_ = where.items()
    with engine.connect() as conn:
        return dict(conn.execute(select(table).where(table.c[column] == value)).one()._mapping)


# -- options ---------------------------------------------------------------------------


def config_key(options: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        SqlPlatform.from_options(options)
    return caught.value.key


def test_the_sql_section_is_required() -> None:
    assert config_key({"adapter": "sql"}) == "local.sql"


@pytest.mark.parametrize(
    "missing", ["url", "table", "key_column", "contact_id_column", "modified_column"]
)
def test_each_required_option_is_named_when_missing(sqlite_url: str, missing: str) -> None:
    options = members_options(sqlite_url)
    del options["sql"][missing]
    assert config_key(options) == f"local.sql.{missing}"


def test_document_column_and_columns_exclude_each_other(sqlite_url: str) -> None:
    both = members_options(sqlite_url, document_column="body")
    neither = members_options(sqlite_url)
    del neither["sql"]["columns"]

    assert config_key(both) == "local.sql.columns"
    assert config_key(neither) == "local.sql.document_column"


def test_a_misspelt_option_is_named(sqlite_url: str) -> None:
    assert config_key(members_options(sqlite_url, key_colum="x")) == "local.sql.key_colum"


@pytest.mark.parametrize(
    "path",
    [
        "contactIndividuals[isPrimary=true.firstName",  # unclosed selector
        "contactIndividuals.firstName",  # an array needs an item selector
        "contactIndividuals[+]",  # a new item cannot be a column
        "isArchived",  # never a field of a record
        "",
    ],
)
def test_an_unusable_mapped_path_is_named_by_its_column(sqlite_url: str, path: str) -> None:
    options = members_options(sqlite_url, columns={"first_name": path})
    assert config_key(options) == "local.sql.columns.first_name"


def test_two_columns_for_one_path_are_refused(sqlite_url: str) -> None:
    columns = {"first_name": "name", "full_name": " name "}
    assert config_key(members_options(sqlite_url, columns=columns)) == "local.sql.columns.full_name"


def test_one_column_with_two_jobs_is_refused(sqlite_url: str) -> None:
    options = members_options(sqlite_url, columns={"updated": "name"})
    assert config_key(options) == "local.sql.columns.updated"


def test_an_unknown_new_row_key_is_refused(sqlite_url: str) -> None:
    assert config_key(members_options(sqlite_url, new_row_key="uuid")) == "local.sql.new_row_key"


def test_a_table_that_does_not_exist_is_named(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="no table or view 'members'") as caught:
        SqlPlatform.from_options(members_options(sqlite_url))
    assert caught.value.key == "local.sql.table"


def test_a_column_that_does_not_exist_is_named_with_the_columns_there(
    sqlite_db: Engine, sqlite_url: str
) -> None:
    make_members(sqlite_db)

    with pytest.raises(ConfigError, match="no column 'crm' in members") as caught:
        SqlPlatform.from_options(members_options(sqlite_url, contact_id_column="crm"))

    assert caught.value.key == "local.sql.contact_id_column"
    assert "crm_id" in caught.value.problem


def test_a_mapped_column_that_does_not_exist_is_named(sqlite_db: Engine, sqlite_url: str) -> None:
    make_members(sqlite_db)
    options = members_options(sqlite_url, columns={"nickname": "contactIndividuals[id=1].nickname"})

    assert config_key(options) == "local.sql.columns.nickname"


def test_a_bad_url_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        SqlPlatform.from_options(members_options("::secret-ish::"))
    assert caught.value.key == "local.sql.url"
    assert "secret-ish" not in str(caught.value)


def test_an_unreachable_database_is_named_without_its_password() -> None:
    options = members_options("postgresql://syncer:s3cr3t-pw@127.0.0.1:1/platform")

    with pytest.raises(LocalPlatformError) as caught:
        SqlPlatform.from_options(options)

    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "postgresql+psycopg://syncer:***@127.0.0.1:1/platform" in message
    assert "members" in message


# -- the column mapping ----------------------------------------------------------------


def test_columns_are_reported_as_leaves_by_path(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(
            insert(table).values(
                member_id=7, crm_id=1001, updated=T0, full_name="Ada Lovelace", city=None
            )
        )

    got = platform.get(1001)

    assert got == LocalRecord(
        key="7",
        contact_id=1001,
        record={},
        modified_at=T0.replace(tzinfo=UTC),
        leaves={
            "name": "Ada Lovelace",
            "contactIndividuals[isPrimary=true].firstName": None,
            "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value": None,
            "address.city": None,
            "customFields[name=Shirt Size].value": None,
        },
    )


def test_a_mapping_update_touches_only_the_mapped_columns(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(
            insert(table).values(
                member_id=7,
                crm_id=1001,
                updated=T0,
                full_name="Ada Lovelace",
                first_name="Ada",
                email="ada@example.org",
                city="London",
                shirt="M",
                notes="the platform's own notes",
            )
        )
    before = row(db, table, member_id=7)
    read = platform.get(1001)
    assert read is not None

    platform.save(
        1001,
        {"name": "Ada King", "address": {"city": "Paris"}},
        expected_modified=read.modified_at,
    )

    after = row(db, table, member_id=7)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"full_name", "city", "updated"}
    assert after["notes"] == "the platform's own notes"


def test_a_path_that_does_not_resolve_on_the_record_leaves_its_column_alone(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(
            insert(table).values(
                member_id=7, crm_id=1001, updated=T0, first_name="Ada", email="ada@example.org"
            )
        )
    read = platform.get(1001)
    assert read is not None
    # No primary individual, and an individual without contact methods: neither the first
    # name nor the email path resolves, so neither column may be cleared.
    record = {
        "name": "Ada King",
        "contactIndividuals": [{"id": 1, "isPrimary": False, "firstName": "Byron"}],
    }

    platform.save(1001, record, expected_modified=read.modified_at)

    after = row(db, table, member_id=7)
    assert (after["full_name"], after["first_name"], after["email"]) == (
        "Ada King",
        "Ada",
        "ada@example.org",
    )


def test_a_row_is_inserted_for_a_contact_new_to_the_platform_keyed_by_its_id(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members

    created = platform.save(2002, contact(2002), expected_modified=None)

    assert created.key == "2002"
    stored = row(db, table, member_id=2002)
    assert (stored["crm_id"], stored["full_name"], stored["email"]) == (
        2002,
        "Ada Lovelace",
        "ada@example.org",
    )


def test_new_row_key_database_lets_the_database_choose_the_key(db: Engine, url: str) -> None:
    table = make_members(db)
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=40, crm_id=1001, updated=T0))
    platform = open_platform(members_options(url, new_row_key="database"))
    try:
        created = platform.save(2002, contact(2002), expected_modified=None)
    finally:
        platform.close()

    assert created.key != "2002"
    assert row(db, table, crm_id=2002)["member_id"] == int(created.key)


def test_booleans_and_dates_round_trip_through_typed_columns(db: Engine, url: str) -> None:
    metadata = MetaData()
    table = Table(
        "people",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("crm_id", Integer),
        Column("changed", DateTime),
        Column("deceased", Boolean),
        Column("deceased_on", Date),
    )
    metadata.create_all(db)
    with db.begin() as conn:
        conn.execute(insert(table).values(id=1, crm_id=1001, changed=T0, deceased=False))
    options = members_options(
        url,
        table="people",
        key_column="id",
        modified_column="changed",
        columns={
            "deceased": "contactIndividuals[isPrimary=true].isDeceased",
            "deceased_on": "contactIndividuals[isPrimary=true].deceasedDate",
        },
    )
    platform = open_platform(options)
    try:
        read = platform.get(1001)
        assert read is not None and read.leaves is not None
        assert read.leaves["contactIndividuals[isPrimary=true].isDeceased"] is False
        change = {
            "contactIndividuals": [
                {"id": 5, "isPrimary": True, "isDeceased": True, "deceasedDate": "2024-02-03"}
            ]
        }
        saved = platform.save(1001, change, expected_modified=read.modified_at)
    finally:
        platform.close()

    assert saved.leaves == {
        "contactIndividuals[isPrimary=true].isDeceased": True,
        "contactIndividuals[isPrimary=true].deceasedDate": "2024-02-03",
    }
    stored = row(db, table, id=1)
    assert (stored["deceased"], stored["deceased_on"]) == (True, date(2024, 2, 3))


@pytest.mark.postgres
def test_a_value_the_database_refuses_is_that_records_data_error(tmp_path: Path) -> None:
    with fresh_database_url("postgres", tmp_path) as url:
        engine = engine_for(url)
        metadata = MetaData()
        table = Table(
            "short",
            metadata,
            Column("k", String(10), primary_key=True),
            Column("crm_id", Integer),
            Column("changed", DateTime),
            Column("city", String(5)),
        )
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(table).values(k="a", crm_id=1001, changed=T0, city="Bern"))
        options = members_options(
            url,
            table="short",
            key_column="k",
            modified_column="changed",
            columns={"city": "address.city"},
        )
        platform = open_platform(options)
        try:
            read = platform.get(1001)
            assert read is not None
            with pytest.raises(LocalDataError, match="refused") as caught:
                platform.save(
                    1001, {"address": {"city": "Winterthur"}}, expected_modified=read.modified_at
                )
            assert caught.value.where == "short row k='a'"
            assert row(engine, table, k="a")["city"] == "Bern"
        finally:
            platform.close()
            engine.dispose()


# -- modification times ----------------------------------------------------------------


def test_naive_modification_times_are_read_as_utc(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=1001, updated=T0))

    got = platform.get(1001)

    assert got is not None
    assert got.modified_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_save_stamps_the_modification_time_from_the_clock(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=1001, updated=T0))
    read = platform.get(1001)
    assert read is not None

    saved = platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    stored = row(db, table, member_id=7)["updated"]
    assert stored.tzinfo is None  # a plain timestamp column keeps naive UTC
    assert saved.modified_at == stored.replace(tzinfo=UTC) > read.modified_at


@pytest.mark.parametrize(
    "stored",
    ["2024-05-01 12:00:00", "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00"],
)
def test_timestamps_kept_as_text_in_any_iso_format_are_read_and_guarded(
    sqlite_db: Engine, sqlite_url: str, stored: str
) -> None:
    # SQLite keeps timestamps as text; the platform's own software may have written them
    # in a format SQLAlchemy would not produce itself. The concurrency guard compares
    # the stored text as it is, so such rows can still be saved.
    with sqlite_db.begin() as conn:
        conn.execute(text("CREATE TABLE m (id TEXT PRIMARY KEY, crm INT, at DATETIME, nm TEXT)"))
        conn.execute(text("INSERT INTO m VALUES ('a', 1001, :at, 'Ada')"), {"at": stored})
    options = members_options(
        sqlite_url,
        table="m",
        key_column="id",
        contact_id_column="crm",
        modified_column="at",
        columns={"nm": "name"},
    )
    platform = open_platform(options)
    try:
        read = platform.get(1001)
        assert read is not None
        assert read.modified_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

        saved = platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)
    finally:
        platform.close()

    assert saved.leaves == {"name": "Ada King"}


def test_an_unreadable_modification_time_makes_only_that_row_malformed(
    sqlite_db: Engine, sqlite_url: str
) -> None:
    with sqlite_db.begin() as conn:
        conn.execute(text("CREATE TABLE m (id TEXT PRIMARY KEY, crm INT, at TEXT, nm TEXT)"))
        conn.execute(text("INSERT INTO m VALUES ('a', 1001, 'yesterday', 'Ada')"))
        conn.execute(text("INSERT INTO m VALUES ('b', 1002, '2024-05-01T12:00:00', 'Grace')"))
    options = members_options(
        sqlite_url,
        table="m",
        key_column="id",
        contact_id_column="crm",
        modified_column="at",
        columns={"nm": "name"},
    )
    platform = open_platform(options)
    try:
        found = list(platform.scan())
    finally:
        platform.close()

    (error,) = [f for f in found if isinstance(f, LocalDataError)]
    assert error.where == "m row id='a'"
    assert "'yesterday' is not an ISO 8601 timestamp" in error.problem
    assert [f.contact_id for f in found if isinstance(f, LocalRecord)] == [1002]


def test_a_text_modification_column_is_written_as_iso_8601(
    sqlite_db: Engine, sqlite_url: str
) -> None:
    with sqlite_db.begin() as conn:
        conn.execute(text("CREATE TABLE m (id TEXT PRIMARY KEY, crm INT, at TEXT, nm TEXT)"))
        conn.execute(text("INSERT INTO m VALUES ('a', 1001, '2024-05-01T12:00:00', 'Ada')"))
    options = members_options(
        sqlite_url,
        table="m",
        key_column="id",
        contact_id_column="crm",
        modified_column="at",
        columns={"nm": "name"},
    )
    platform = open_platform(options)
    try:
        read = platform.get(1001)
        assert read is not None
        saved = platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)
    finally:
        platform.close()

    with sqlite_db.connect() as conn:
        stored = conn.execute(text("SELECT at FROM m")).scalar_one()
    assert datetime.fromisoformat(stored) == saved.modified_at
    assert stored.endswith("+00:00")


# -- documents -------------------------------------------------------------------------


def test_a_document_save_keeps_the_documents_other_keys_and_the_rows_other_columns(
    sqlite_db: Engine, sqlite_url: str
) -> None:
    with sqlite_db.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE docs (ref TEXT PRIMARY KEY, crm INT, at DATETIME, body TEXT, x TEXT)"
            )
        )
        document = {"id": 1001, "name": "Ada", "platformOnly": [1, 2]}
        conn.execute(
            text("INSERT INTO docs VALUES ('r1', 1001, '2024-05-01 12:00:00', :b, 'keep')"),
            {"b": json.dumps(document)},
        )
    options = {
        "sql": {
            "url": sqlite_url,
            "table": "docs",
            "key_column": "ref",
            "contact_id_column": "crm",
            "modified_column": "at",
            "document_column": "body",
        }
    }
    platform = open_platform(options)
    try:
        read = platform.get(1001)
        assert read is not None
        platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)
    finally:
        platform.close()

    with sqlite_db.connect() as conn:
        body, extra = conn.execute(text("SELECT body, x FROM docs")).one()
    assert json.loads(body) == {"id": 1001, "name": "Ada King", "platformOnly": [1, 2]}
    assert extra == "keep"


def test_a_document_whose_id_disagrees_with_the_row_is_malformed(
    sqlite_db: Engine, sqlite_url: str
) -> None:
    with sqlite_db.begin() as conn:
        conn.execute(text("CREATE TABLE docs (ref TEXT PRIMARY KEY, crm INT, at TEXT, body TEXT)"))
        conn.execute(text("""INSERT INTO docs VALUES ('r1', 1001, '2024-05-01', '{"id": 7}')"""))
    options = {
        "sql": {
            "url": sqlite_url,
            "table": "docs",
            "key_column": "ref",
            "contact_id_column": "crm",
            "modified_column": "at",
            "document_column": "body",
        }
    }
    platform = open_platform(options)
    try:
        (error,) = list(platform.scan())
    finally:
        platform.close()

    assert isinstance(error, LocalDataError)
    assert "disagrees with contact id 1001" in error.problem


# -- rows ------------------------------------------------------------------------------


def test_a_contact_id_in_two_rows_is_reported_for_both_and_get_refuses(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=1001, updated=T0))
        conn.execute(insert(table).values(member_id=8, crm_id=1001, updated=T0))
        conn.execute(insert(table).values(member_id=9, crm_id=1002, updated=T0))

    found = list(platform.scan())

    errors = sorted(f.where for f in found if isinstance(f, LocalDataError))
    assert errors == ["members row member_id='7'", "members row member_id='8'"]
    assert [f.contact_id for f in found if isinstance(f, LocalRecord)] == [1002]
    with pytest.raises(LocalDataError, match="in 2 rows"):
        platform.get(1001)


@pytest.mark.parametrize("crm_id", [0, -5, 2_147_483_648, 99_999_999_999])
def test_a_contact_id_outside_crms_range_makes_only_its_row_malformed(
    db: Engine, members: tuple[Table, SqlPlatform], crm_id: int
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=crm_id, updated=T0))
        conn.execute(insert(table).values(member_id=8, crm_id=1002, updated=T0))

    found = list(platform.scan())

    (error,) = [f for f in found if isinstance(f, LocalDataError)]
    assert error.where == "members row member_id='7'"
    assert "'crm_id'" in error.problem and "1 to 2147483647" in error.problem
    assert [f.contact_id for f in found if isinstance(f, LocalRecord)] == [1002]


def test_rows_without_a_key_are_counted_and_skipped(sqlite_db: Engine, sqlite_url: str) -> None:
    with sqlite_db.begin() as conn:
        conn.execute(text("CREATE TABLE m (id TEXT, crm INT, at TEXT, nm TEXT)"))
        conn.execute(text("INSERT INTO m VALUES (NULL, 1001, '2024-05-01', 'Ada')"))
        conn.execute(text("INSERT INTO m VALUES ('b', 1002, '2024-05-01', 'Grace')"))
    options = members_options(
        sqlite_url,
        table="m",
        key_column="id",
        contact_id_column="crm",
        modified_column="at",
        columns={"nm": "name"},
    )
    platform = open_platform(options)
    try:
        found = list(platform.scan())
    finally:
        platform.close()

    assert [type(f).__name__ for f in found] == ["LocalDataError", "LocalRecord"]
    assert "1 row(s) have no id" in str(found[0])


def test_a_scan_pages_through_every_row(db: Engine, members: tuple[Table, SqlPlatform]) -> None:
    table, platform = members
    total = 2 * PAGE_SIZE + 3
    with db.begin() as conn:
        conn.execute(
            insert(table),
            [{"member_id": n, "crm_id": 1000 + n, "updated": T0} for n in range(1, total + 1)],
        )

    found = [r.contact_id for r in platform.scan() if isinstance(r, LocalRecord)]

    assert found == [1000 + n for n in range(1, total + 1)]


def test_records_can_be_saved_while_a_scan_is_under_way(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    # The engine works on each record as the scan hands it out; no page may hold a lock
    # or snapshot that a write would wait for.
    table, platform = members
    with db.begin() as conn:
        conn.execute(
            insert(table),
            [{"member_id": n, "crm_id": 1000 + n, "updated": T0} for n in range(1, PAGE_SIZE + 5)],
        )

    for record in platform.scan():
        assert isinstance(record, LocalRecord) and record.contact_id is not None
        platform.save(record.contact_id, {"name": "seen"}, expected_modified=record.modified_at)

    with db.connect() as conn:
        names = set(conn.execute(select(table.c.full_name)).scalars())
    assert names == {"seen"}


def test_a_view_can_be_read(sqlite_db: Engine, sqlite_url: str) -> None:
    table = make_members(sqlite_db)
    with sqlite_db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=1001, updated=T0, full_name="Ada"))
        conn.execute(text("CREATE VIEW member_view AS SELECT * FROM members"))
    platform = open_platform(members_options(sqlite_url, table="member_view"))
    try:
        (found,) = list(platform.scan())
    finally:
        platform.close()

    assert isinstance(found, LocalRecord)
    assert found.leaves is not None and found.leaves["name"] == "Ada"


def test_link_sets_only_the_contact_id(db: Engine, members: tuple[Table, SqlPlatform]) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, updated=T0, full_name="Ada", notes="n"))
    before = row(db, table, member_id=7)

    platform.link("7", 3003)

    after = row(db, table, member_id=7)
    assert {k for k in before if before[k] != after[k]} == {"crm_id"}
    assert after["crm_id"] == 3003


def test_linking_again_to_the_same_contact_is_harmless(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, updated=T0, full_name="Ada"))
    first = platform.link("7", 3003)

    assert platform.link("7", 3003) == first
    with pytest.raises(LocalConflictError):
        platform.link("7", 4004)  # linked already, to another contact


def test_a_concurrent_write_between_read_and_update_is_a_conflict(
    db: Engine, members: tuple[Table, SqlPlatform]
) -> None:
    table, platform = members
    with db.begin() as conn:
        conn.execute(insert(table).values(member_id=7, crm_id=1001, updated=T0, city="London"))
    read = platform.get(1001)
    assert read is not None
    with db.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.member_id == 7)
            .values(city="Berlin", updated=datetime(2024, 5, 1, 12, 0, 1))
        )

    with pytest.raises(LocalConflictError) as caught:
        platform.save(1001, {"address": {"city": "Paris"}}, expected_modified=read.modified_at)

    assert caught.value.where == "members row member_id='7'"
    assert row(db, table, member_id=7)["city"] == "Berlin"
