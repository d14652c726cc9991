"""Engines from URLs, and connection failures that never show a password."""

import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from sqlalchemy import text

from syncengine.errors import DatabaseUnavailable, StoreError
from syncengine.store import SqlMirrorStore, make_engine, parse_url, safe_url
from syncengine.store.migrate import prepare_database

PASSWORD = "s3cr3t-Pa55word"


def full_text(exc: BaseException) -> str:
    """The exception with its whole cause chain, as a traceback would show it."""
    return "".join(traceback.format_exception(exc))


def test_sqlite_engine_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()

    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert int(str(pragmas["busy_timeout"])) >= 5000


def test_sqlite_engine_creates_the_folder_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.db"

    engine = make_engine(f"sqlite:///{path}")
    try:
        prepare_database(engine)
    finally:
        engine.dispose()

    assert path.is_file()


def test_sqlite_transactions_are_rolled_back_as_a_whole(tmp_path: Path) -> None:
    # The sqlite3 module would autocommit the DDL; our BEGIN handling must not.
    engine = make_engine(f"sqlite:///{tmp_path / 'atomic.db'}")
    try:
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            raise RuntimeError("abort the transaction")
        with engine.connect() as connection:
            tables = connection.execute(text("SELECT name FROM sqlite_master")).all()
    finally:
        engine.dispose()

    assert tables == []


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg_3(scheme: str) -> None:
    engine = make_engine(f"{scheme}://user@db.example.org/syncengine")
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_safe_url_hides_the_password() -> None:
    shown = safe_url(f"postgresql://sync:{PASSWORD}@db.example.org:5432/crm")

    assert PASSWORD not in shown
    assert shown == "postgresql://sync:***@db.example.org:5432/crm"


def test_unsupported_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        make_engine(f"mysql://root:{PASSWORD}@localhost/x")


def test_malformed_url_is_reported_without_echoing_it() -> None:
    with pytest.raises(StoreError) as caught:
        parse_url(f"not a url with {PASSWORD}")

    assert PASSWORD not in full_text(caught.value)


def test_unreachable_postgres_is_database_unavailable_without_the_password() -> None:
    # Port 1 on loopback: refused at once, no waiting for a timeout.
    url = f"postgresql://sync:{PASSWORD}@127.0.0.1:1/crm?connect_timeout=2"
    engine = make_engine(url)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            SqlMirrorStore(engine).get(1)
    finally:
        engine.dispose()

    assert PASSWORD not in full_text(caught.value)
    assert "sync:***@127.0.0.1:1/crm" in str(caught.value)


def test_unreachable_database_stops_prepare_database_too() -> None:
    engine = make_engine(f"postgresql://sync:{PASSWORD}@127.0.0.1:1/crm?connect_timeout=2")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            prepare_database(engine)
    finally:
        engine.dispose()

    assert PASSWORD not in full_text(caught.value)


def test_sqlite_file_that_cannot_be_opened_is_database_unavailable(tmp_path: Path) -> None:
    # A folder where the database file should be.
    engine = make_engine(f"sqlite:///{tmp_path}")
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot connect"):
            SqlMirrorStore(engine).all_ids()
    finally:
        engine.dispose()


def test_unmigrated_database_gives_a_store_error_not_a_sqlalchemy_one(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(StoreError) as caught:
            SqlMirrorStore(engine).all_ids()
    finally:
        engine.dispose()

    assert not isinstance(caught.value, DatabaseUnavailable)
    assert "mirror" in str(caught.value)


def test_in_memory_sqlite_keeps_its_tables_between_operations() -> None:
    engine = make_engine("sqlite://")
    try:
        prepare_database(engine)

        assert SqlMirrorStore(engine).all_ids() == []
    finally:
        engine.dispose()


_OPEN_WRITE_CLOSE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")
db.execute("INSERT INTO probe VALUES (1)")
db.close()
"""


def test_a_new_connection_leaves_the_other_connections_locks_alone(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it. A
    new connection that opened and closed the database file beside the process's others
    took their shared locks away: the next process to close its last connection then
    thought itself the last of all and removed the WAL under them ("disk I/O error",
    or worse). The WAL must outlive that process while this one is connected."""
    path = tmp_path / "mirror.db"
    wal = tmp_path / "mirror.db-wal"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(engine)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("SELECT 1").all()
            with engine.connect() as newcomer:  # a second pooled connection opens
                newcomer.exec_driver_sql("SELECT 1").all()
                subprocess.run(
                    [sys.executable, "-c", _OPEN_WRITE_CLOSE, str(path)],
                    check=True,
                    timeout=60,
                )
                assert wal.exists(), "another process removed the WAL under open connections"
                assert newcomer.exec_driver_sql("SELECT count(*) FROM probe").scalar() == 1
    finally:
        engine.dispose()
