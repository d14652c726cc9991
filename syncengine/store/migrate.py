"""Bringing a database to the schema this syncengine needs, or refusing to run on it.

- ``prepare_database``: what every command calls before touching the store. A new, empty
  database is created and migrated (first use needs no extra step); a database at an older
  revision raises ``SchemaOutdated``: migrating a production database is the operator's
  decision (``syncengine db upgrade``), not a side effect of a scheduled sync.
- ``db_upgrade`` / ``db_current``: the ``syncengine db upgrade`` / ``db current`` commands.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine, inspect, text

from syncengine.errors import SchemaOutdated, StoreError
from syncengine.store.database import make_engine, safe_url
from syncengine.store.scripts import alembic_config, head_revision, script_directory
from syncengine.store.sessions import connection_in_transaction
from syncengine.store.tables import metadata

# pg_advisory_xact_lock key ("sync" in ASCII): two processes starting at once on a new
# PostgreSQL database must not both create the tables.
_MIGRATION_LOCK_KEY = 0x73796E63


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands: its revision (None if never migrated) against ours."""

    current: str | None
    head: str
    known: bool  # False: a revision this syncengine has never heard of (a newer version's)

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None if it was never migrated."""
    with connection_in_transaction(engine) as connection:
        return _current(connection)


def schema_status(engine: Engine, *, script_location: Path | None = None) -> SchemaStatus:
    scripts = script_directory(script_location)
    with connection_in_transaction(engine) as connection:
        return _status(connection, scripts)


def upgrade(engine: Engine, revision: str = "head", *, script_location: Path | None = None) -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction."""
    scripts = script_directory(script_location)
    with _migration_transaction(engine) as connection:
        status = _status(connection, scripts)
        if not status.known:
            raise _unknown_revision(engine.url, status)
        _run_upgrade(connection, revision, script_location)


def prepare_database(
    engine: Engine, *, allow_create: bool = True, script_location: Path | None = None
) -> None:
    """Make sure the database is at our revision before anything uses it.

    - at our revision: nothing to do;
    - new and empty: created and migrated (if ``allow_create``, else ``SchemaOutdated``);
    - at an older revision: ``SchemaOutdated`` (run ``syncengine db upgrade``);
    - at a revision we do not know (a newer syncengine migrated it): ``StoreError``;
    - holding our tables but no revision (made by hand?): ``StoreError``.
    """
    scripts = script_directory(script_location)
    with _migration_transaction(engine) as connection:
        status = _status(connection, scripts)
        if status.up_to_date:
            return
        if not status.known:
            raise _unknown_revision(engine.url, status)
        if status.current is not None:
            raise SchemaOutdated(status.current, status.head)
        if _has_store_tables(connection):
            raise StoreError(
                f"the database {safe_url(engine.url)} holds syncengine tables but no schema "
                "revision (alembic_version): it was not created by syncengine's migrations; "
                "move the tables away or stamp the right revision by hand"
            )
        if not allow_create:
            raise SchemaOutdated(None, status.head)
        _run_upgrade(connection, "head", script_location)


# -- the commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def db_upgrade(url: str | URL) -> UpgradeResult:
    """``syncengine db upgrade``: migrate the database at ``url`` to the newest revision."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        return UpgradeResult(before=before, after=head_revision())
    finally:
        engine.dispose()


def db_current(url: str | URL) -> SchemaStatus:
    """``syncengine db current``: the database's revision against the one we need."""
    engine = make_engine(url)
    try:
        return schema_status(engine)
    finally:
        engine.dispose()


# -- helpers --------------------------------------------------------------------------------


@contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    with connection_in_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends: a second process waits, then finds the
            # database already migrated.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        yield connection


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _status(connection: Connection, scripts: ScriptDirectory) -> SchemaStatus:
    head = scripts.get_current_head()
    if head is None:
        raise StoreError("the migration history is empty (a broken installation?)")
    current = _current(connection)
    return SchemaStatus(current=current, head=head, known=_is_known(scripts, current))


def _is_known(scripts: ScriptDirectory, revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return scripts.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def _has_store_tables(connection: Connection) -> bool:
    existing = set(inspect(connection).get_table_names())
    return bool(existing & set(metadata.tables))


def _run_upgrade(connection: Connection, revision: str, script_location: Path | None) -> None:
    config = alembic_config(script_location=script_location, connection=connection)
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise StoreError(f"cannot migrate to {revision!r}: {exc}") from exc


def _unknown_revision(url: URL, status: SchemaStatus) -> StoreError:
    return StoreError(
        f"the database {safe_url(url)} is at schema revision {status.current!r}, which this "
        f"syncengine does not know (it needs {status.head}): a newer syncengine has migrated "
        "it; upgrade syncengine instead of running this older version"
    )
