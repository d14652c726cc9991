"""``one_transaction``: the store calls made inside run as one transaction, on SQLite and
PostgreSQL: all of them take effect or none, and only for the thread that opened it."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from syncengine.domain.ports import ConflictRecord, JobRun, MirrorEntry, SyncState
from syncengine.errors import StoreError
from syncengine.store import (
    SqlConflictStore,
    SqlMirrorStore,
    SqlRunLog,
    SqlSyncStateStore,
    one_transaction,
)
from tests.fixtures.db import backend_params, fresh_database_url, migrated_engine

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Died(BaseException):
    """A process dying inside the block (not an Exception: nothing catches it)."""


@pytest.fixture(params=backend_params())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    with fresh_database_url(request.param, tmp_path) as url, migrated_engine(url) as engine:
        yield engine


def entry(contact_id: int, name: str) -> MirrorEntry:
    record = {"id": contact_id, "name": name, "modifiedDateTimeUtc": "2026-12-07T10:00:00"}
    return MirrorEntry(contact_id, record, record["modifiedDateTimeUtc"], name, NOW)


def test_the_calls_inside_take_effect_together(engine: Engine) -> None:
    mirror, states = SqlMirrorStore(engine), SqlSyncStateStore(engine)
    with one_transaction(engine):
        mirror.put(entry(1, "Ada"))
        states.put(SyncState(1, "1", NOW, NOW, "pushed"))
        # Inside, the block's own writes are visible to its own reads.
        got = mirror.get(1)
        assert got is not None and got.record["name"] == "Ada"

    got = mirror.get(1)
    assert got is not None and got.record["name"] == "Ada"
    assert states.get(1) is not None


def test_a_crash_inside_leaves_none_of_the_calls(engine: Engine) -> None:
    mirror, states = SqlMirrorStore(engine), SqlSyncStateStore(engine)
    mirror.put(entry(1, "before"))
    with pytest.raises(Died), one_transaction(engine):
        mirror.put(entry(1, "after"))
        states.put(SyncState(1, "1", NOW, NOW, "pushed"))
        raise Died

    got = mirror.get(1)
    assert got is not None and got.record["name"] == "before"
    assert states.get(1) is None


def test_a_nested_block_joins_the_outer_one(engine: Engine) -> None:
    mirror = SqlMirrorStore(engine)
    with pytest.raises(Died), one_transaction(engine):
        with one_transaction(engine):
            mirror.put(entry(1, "inner"))
        raise Died  # after the inner block ended: its write goes with the outer one

    assert mirror.get(1) is None


def test_another_thread_is_not_in_the_block(engine: Engine) -> None:
    mirror = SqlMirrorStore(engine)
    mirror.put(entry(1, "committed"))
    seen: list[MirrorEntry | None] = []
    with pytest.raises(Died), one_transaction(engine):
        mirror.put(entry(1, "uncommitted"))
        # Another thread reads in a transaction of its own (SQLite's WAL: a reader never
        # waits for the writer), and never sees the block's uncommitted write. (A writer
        # would wait for the block to end: SQLite has one writer at a time, which is why
        # a block never spans a remote call.)
        other = threading.Thread(target=lambda: seen.append(mirror.get(1)))
        other.start()
        other.join(timeout=30)
        raise Died

    assert [e.record["name"] if e else None for e in seen] == ["committed"]
    got = mirror.get(1)
    assert got is not None and got.record["name"] == "committed"


@pytest.mark.parametrize("writing", [True, False])
def test_on_sqlite_a_writing_block_takes_the_write_lock_at_once(
    tmp_path: Path, writing: bool
) -> None:
    """A block that reads and then writes must not fail when another connection wrote in
    between (SQLite cannot move a reader's snapshot forward): a writing block takes the
    write lock at BEGIN, before its first read. A reading block never takes it."""
    path = tmp_path / "lock.db"
    with migrated_engine(f"sqlite:///{path}") as engine:
        mirror = SqlMirrorStore(engine)
        with one_transaction(engine, writing=writing):
            mirror.get(1)  # only a read so far
            other = sqlite3.connect(path, timeout=0.1)
            try:
                other.execute("CREATE TABLE probe (x INTEGER)")
                other.commit()
                wrote = True
            except sqlite3.OperationalError as exc:
                assert "locked" in str(exc)
                wrote = False
            finally:
                other.close()
    assert wrote is not writing


def conflict(contact_id: int) -> ConflictRecord:
    return ConflictRecord(contact_id, "name", "a", "b", "c", None, None, None, None, "c", "manual")


def test_orm_and_core_repositories_in_one_block_take_effect_together(engine: Engine) -> None:
    """Most repositories run Core statements on the block's connection; the others an
    ORM session on that same connection, made when they first join: one transaction
    still, and what the session holds unflushed (a run's start) is written with it."""
    mirror, conflicts, runs = SqlMirrorStore(engine), SqlConflictStore(engine), SqlRunLog(engine)
    with one_transaction(engine):
        mirror.put(entry(1, "Ada"))
        recorded = conflicts.record(conflict(1))
        runs.start(JobRun("push", "run-1", NOW))
        # The session sees the connection's writes, and the connection the session's.
        assert [c.id for c in conflicts.list(contact_id=1)] == [recorded.id]
        got = mirror.get(1)
        assert got is not None and got.record["name"] == "Ada"

    assert mirror.get(1) is not None
    assert [c.id for c in conflicts.list(contact_id=1)] == [recorded.id]
    assert [r.run_id for r in runs.latest()] == ["run-1"]


def test_a_crash_leaves_none_of_the_orm_and_core_calls(engine: Engine) -> None:
    mirror, conflicts, runs = SqlMirrorStore(engine), SqlConflictStore(engine), SqlRunLog(engine)
    with pytest.raises(Died), one_transaction(engine):
        mirror.put(entry(1, "Ada"))
        conflicts.record(conflict(1))
        runs.start(JobRun("push", "run-1", NOW))
        raise Died

    assert mirror.get(1) is None
    assert conflicts.list() == []
    assert runs.latest() == []
    # The next block starts afresh: no session or connection is left behind.
    with one_transaction(engine):
        runs.start(JobRun("push", "run-2", NOW))
    assert [r.run_id for r in runs.latest()] == ["run-2"]


def test_a_block_that_ran_nothing_takes_no_write_lock(tmp_path: Path) -> None:
    """The block's transaction begins at its first statement, as a session's did: a
    writing block that ends up running nothing never holds SQLite's write lock."""
    path = tmp_path / "lock.db"
    with migrated_engine(f"sqlite:///{path}") as engine, one_transaction(engine):
        other = sqlite3.connect(path, timeout=0.1)
        try:
            other.execute("CREATE TABLE probe (x INTEGER)")
            other.commit()
        finally:
            other.close()


def test_a_block_rolled_back_by_a_failed_flush_commits_nothing_after_it(engine: Engine) -> None:
    """A failed flush rolls the block's transaction back. Were the error caught inside
    the block, what ran after it would be in a transaction of its own: the block refuses
    to commit it, rather than commit half of itself."""
    mirror, runs = SqlMirrorStore(engine), SqlRunLog(engine)
    runs.start(JobRun("push", "run-1", NOW))
    with pytest.raises(StoreError, match="rolled back"), one_transaction(engine):
        mirror.put(entry(1, "before the failure"))
        runs.start(JobRun("push", "run-1", NOW))  # the same run id: unique
        with pytest.raises(IntegrityError):
            runs.latest()  # its autoflush fails
        mirror.put(entry(2, "after the failure"))

    assert mirror.get(1) is None
    assert mirror.get(2) is None
