"""The files the engine creates that hold donor data are its owner's alone, whatever the
umask: the SQLite database (and its -wal/-shm companions), reports and drift reports.
Platform documents are the platform's: they keep the mode they have (docs/store.md)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from syncengine.bootstrap import write_drift_report
from syncengine.sandbox import SandboxServer
from syncengine.store import prepare_database
from syncengine.store.database import make_engine
from tests.fixtures.sandbox import SANDBOX_TOKEN

UMASKS = [pytest.param(0o022, id="umask-022"), pytest.param(0o000, id="umask-000")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    # Process-wide: set only around the code under test, and always put back.
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("mask", UMASKS)
def test_a_new_sqlite_database_and_its_companions_are_owner_only(tmp_path: Path, mask: int) -> None:
    database = tmp_path / "fresh" / "mirror.db"
    with umask(mask):
        engine = make_engine(f"sqlite:///{database}")
        try:
            prepare_database(engine)
            with engine.connect() as connection:
                # A reader open keeps the -wal and -shm files there to be looked at.
                connection.execute(text("SELECT count(*) FROM mirror")).scalar_one()
                files = sorted(tmp_path.joinpath("fresh").iterdir())
                modes = {path.name: mode(path) for path in files}
        finally:
            engine.dispose()
    assert {"mirror.db", "mirror.db-wal", "mirror.db-shm"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)


@pytest.mark.parametrize("mask", UMASKS)
def test_the_command_line_creates_its_database_and_reports_owner_only(
    tmp_path: Path, sandbox_replace: SandboxServer, mask: int
) -> None:
    """A real process with the umask a shell would give it: the database of a first
    sync, and a report written with --output, are 0o600."""
    (tmp_path / "platform").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"local:\n  adapter: files\n  path: {tmp_path / 'platform'}\n")
    env = {
        **os.environ,
        "CRMPLUS_BASE_URL": sandbox_replace.base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'syncengine.db'}",
        "SYNCENGINE_CONFIG": str(config),
    }
    for args in (["sync", "--contact", "4821"], ["report", "--output", "report.html"]):
        done = subprocess.run(
            [sys.executable, "-m", "syncengine", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            umask=mask,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert mode(tmp_path / "data" / "syncengine.db") == 0o600
    assert mode(tmp_path / "report.html") == 0o600
    # What the engine does not own keeps the umask's mode: the platform's own document.
    assert mode(tmp_path / "platform" / "4821.json") == 0o666 & ~mask


def test_an_existing_database_readable_by_others_is_made_owner_only_with_a_warning(
    tmp_path: Path,
) -> None:
    database = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{database}")
    prepare_database(engine)
    engine.dispose()
    # As the engine before this rule left it (0o644 under the usual umask), with a
    # leftover write-ahead log as a crash leaves one.
    database.chmod(0o644)
    wal = tmp_path / "old.db-wal"
    wal.write_bytes(b"")
    wal.chmod(0o664)

    engine = make_engine(f"sqlite:///{database}")
    try:
        with capture_logs() as logs, engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
            # Looked at while open: SQLite removes the log when the last connection closes.
            modes = (mode(database), mode(wal))
    finally:
        engine.dispose()
    assert modes == (0o600, 0o600)
    warned = {(e["event"], e["file"], e["was"]) for e in logs if e["log_level"] == "warning"}
    assert warned == {
        ("database file was readable by others: made owner-only", "old.db", "0o644"),
        ("database file was readable by others: made owner-only", "old.db-wal", "0o664"),
    }


def test_an_owner_only_database_is_left_as_it_is_and_nothing_is_said(tmp_path: Path) -> None:
    database = tmp_path / "quiet.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with capture_logs() as logs:
            prepare_database(engine)
    finally:
        engine.dispose()
    assert mode(database) == 0o600
    assert not [e for e in logs if "owner-only" in e["event"]]


def test_a_refused_command_still_leaves_no_database_file(tmp_path: Path) -> None:
    """The file is created when the first connection opens, not when the engine is made:
    a command refused before any query leaves nothing behind."""
    database = tmp_path / "never.db"
    make_engine(f"sqlite:///{database}").dispose()
    assert not database.exists()


@pytest.mark.parametrize("mask", UMASKS)
def test_drift_reports_are_owner_only_and_a_replaced_report_keeps_its_mode(
    tmp_path: Path, mask: int
) -> None:
    report = {"organization": "default", "started_at": "2026-11-30T03:00:00+00:00"}
    with umask(mask):
        write_drift_report(tmp_path / "reports", report)
    (written,) = (tmp_path / "reports").iterdir()
    assert mode(written) == 0o600
    # Shared with a team on purpose: the next report at that name stays shared.
    written.chmod(0o640)
    with umask(mask):
        write_drift_report(tmp_path / "reports", {**report, "drift": []})
    assert mode(written) == 0o640 and '"drift"' in written.read_text()
    assert [p.name for p in (tmp_path / "reports").iterdir()] == [written.name]
