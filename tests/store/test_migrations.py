"""Migrations: an empty database reaches the newest revision on both backends, the models
and the migrations agree, and prepare_database refuses databases it must not touch."""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from syncengine.domain.ports import Outcome
from syncengine.errors import SchemaOutdated, StoreError
from syncengine.store import (
    SqlJournal,
    current_revision,
    db_current,
    db_upgrade,
    find_script_location,
    head_revision,
    make_engine,
    prepare_database,
    schema_status,
    upgrade,
)
from syncengine.store.check_migrations import alembic_check, main, model_differences
from syncengine.store.scripts import alembic_config
from tests.store.conftest import make_journal_entry

REPO_ROOT = Path(__file__).resolve().parents[2]

# A second revision on top of the shipped history, for "database at an older revision"
# and to prove that a SQLite batch migration can address a named constraint.
NEXT_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "9002"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("journal") as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=True))
        # op.f(): the name is final; without it the naming convention would prefix it again.
        batch_op.drop_constraint(op.f("ck_journal_outcome"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_journal_outcome"), "outcome IN ({outcomes}, 'skipped')"
        )


def downgrade():
    pass
"""


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def longer_history(tmp_path: Path) -> Path:
    """A copy of the shipped migrations with one more revision, 9002, as the head."""
    location = tmp_path / "migrations"
    shutil.copytree(find_script_location(), location, ignore=shutil.ignore_patterns("__pycache__"))
    outcomes = ", ".join(f"'{outcome.value}'" for outcome in Outcome)
    (location / "versions" / "9002_next.py").write_text(
        NEXT_REVISION.format(head=head_revision(), outcomes=outcomes)
    )
    return location


def store_tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def test_migrations_are_found_in_the_package_or_the_checkout() -> None:
    location = find_script_location()

    assert (location / "env.py").is_file()
    assert any((location / "versions").glob("0001_*.py"))


def test_empty_database_is_upgraded_to_the_newest_revision(engine: Engine) -> None:
    assert current_revision(engine) is None

    upgrade(engine)

    assert current_revision(engine) == head_revision()
    assert {"mirror", "journal", "alembic_version"} <= store_tables(engine)


def test_models_and_migrations_agree_after_upgrade(engine: Engine) -> None:
    upgrade(engine)

    assert model_differences(engine) == []
    alembic_check(engine)  # Alembic's own `check` command; raises on any difference


def test_migrations_downgrade_to_nothing_and_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "base")
    assert store_tables(engine) <= {"alembic_version"}

    upgrade(engine)

    assert model_differences(engine) == []


def test_new_database_is_created_on_first_use(engine: Engine) -> None:
    prepare_database(engine)
    prepare_database(engine)  # the second run finds it ready

    assert current_revision(engine) == head_revision()


def test_new_database_is_not_created_when_creation_is_not_allowed(engine: Engine) -> None:
    with pytest.raises(SchemaOutdated) as caught:
        prepare_database(engine, allow_create=False)

    assert (caught.value.current, caught.value.head) == (None, head_revision())
    assert "mirror" not in store_tables(engine)


def test_database_at_an_older_revision_is_not_migrated_behind_the_users_back(
    engine: Engine, longer_history: Path
) -> None:
    upgrade(engine)  # the shipped head, older than 9002

    with pytest.raises(SchemaOutdated) as caught:
        prepare_database(engine, script_location=longer_history)

    assert (caught.value.current, caught.value.head) == (head_revision(), "9002")
    assert "syncengine db upgrade" in str(caught.value)
    assert current_revision(engine) == head_revision()


def test_upgrading_an_older_database_keeps_its_rows(engine: Engine, longer_history: Path) -> None:
    upgrade(engine)
    journal = SqlJournal(engine)
    entry_id = journal.open(make_journal_entry())

    upgrade(engine, script_location=longer_history)

    prepare_database(engine, script_location=longer_history)
    assert current_revision(engine) == "9002"
    stored = journal.get(entry_id)
    assert stored is not None
    assert stored.after == make_journal_entry().after
    with engine.connect() as connection:
        checks = inspect(connection).get_check_constraints("journal")
    assert "skipped" in next(c["sqltext"] for c in checks if c["name"] == "ck_journal_outcome")


def test_database_at_an_unknown_revision_is_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))

    with pytest.raises(StoreError, match="does not know") as caught:
        prepare_database(engine)
    assert not isinstance(caught.value, SchemaOutdated)
    with pytest.raises(StoreError, match="does not know"):
        upgrade(engine)
    assert schema_status(engine).known is False


def test_tables_without_a_revision_are_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))

    with pytest.raises(StoreError, match="no schema revision") as caught:
        prepare_database(engine)
    assert not isinstance(caught.value, SchemaOutdated)


def test_db_upgrade_and_db_current_commands(database_url: str) -> None:
    before = db_current(database_url)

    result = db_upgrade(database_url)
    again = db_upgrade(database_url)
    after = db_current(database_url)

    assert (before.current, before.up_to_date) == (None, False)
    assert (result.before, result.after, result.changed) == (None, head_revision(), True)
    assert again.changed is False
    assert (after.current, after.up_to_date, after.known) == (head_revision(), True, True)


def test_check_migrations_entry_point_reports_agreement(database_url: str) -> None:
    assert main([database_url]) == 0


def test_alembic_command_line_works_from_the_repository_root(tmp_path: Path) -> None:
    # SQLite only: the same env.py runs in-process against PostgreSQL in the tests above;
    # this one is about alembic.ini and the `alembic` command, and costs subprocesses.
    if not (REPO_ROOT / "alembic.ini").is_file():
        pytest.skip("not a source checkout")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for arguments in (["upgrade", "head"], ["check"]):
        completed = subprocess.run(
            [sys.executable, "-m", "alembic", "-x", f"url={url}", *arguments],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
