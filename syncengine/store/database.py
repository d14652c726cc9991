"""Database engines built from a URL: SQLite for one machine, PostgreSQL for production.

Nothing here connects: an engine connects lazily, and connection failures are translated
into ``DatabaseUnavailable`` where the repositories open their transactions (see
``syncengine.store.sessions``).
"""

import os
import stat
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from syncengine.errors import DatabaseUnavailable, StoreError

log = structlog.get_logger(__name__)

# How long a SQLite writer waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
# The SQLite file holds donor records, the journal of every write and the claims: only
# its owner may read it, whatever the umask. SQLite gives its -wal, -shm and -journal
# files the database file's own mode, so creating that one owner-only covers them all.
SQLITE_FILE_MODE = 0o600
# The companions SQLite may leave beside the database file.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

# How long a PostgreSQL connection attempt may take before it counts as unreachable.
POSTGRES_CONNECT_TIMEOUT_S = 10

# Spellings people use for PostgreSQL URLs; SQLAlchemy would pick psycopg2 (not installed)
# for the first and reject the second.
_POSTGRES_SCHEMES = {"postgresql", "postgres"}
_POSTGRES_DRIVER = "postgresql+psycopg"


def parse_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy URL with the driver syncengine uses.

    A URL that does not parse is reported without echoing it: it may hold a password.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        raise StoreError(
            "not a valid database URL (expected e.g. sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/dbname)"
        ) from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername=_POSTGRES_DRIVER)
    return parsed


def safe_url(url: str | URL) -> str:
    """``url`` for messages and logs: the password, if any, shown as ``***``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return "(unparseable database URL)"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str | URL, *, echo: bool = False, threads: int = 1) -> Engine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql[+psycopg]://...``).

    ``threads``: how many threads of the process may use it at once (``sync.concurrency``
    contacts, plus the claims' heartbeat and the main thread): the pool keeps that many
    connections, so no contact waits for another's to come back."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    pool = {"pool_size": max(_POOL_SIZE, threads + 2)}
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed, echo=echo, pool=pool)
        if backend == "postgresql":
            return _postgres_engine(parsed, echo=echo, pool=pool)
    except ImportError as exc:
        raise StoreError(
            f"the database driver for {safe_url(parsed)} is not installed "
            "(for PostgreSQL: pip install 'syncengine[postgres]')"
        ) from exc
    except ArgumentError as exc:
        raise StoreError(f"invalid database settings in {safe_url(parsed)}: {exc}") from None
    raise StoreError(
        f"unsupported database {backend!r} in {safe_url(parsed)}: use sqlite or postgresql"
    )


# -- SQLite -------------------------------------------------------------------------------


# SQLAlchemy's own default pool size, kept for a single-threaded process.
_POOL_SIZE = 5


def _sqlite_engine(url: URL, *, echo: bool, pool: dict[str, int]) -> Engine:
    _create_parent_folder(url)
    if _sqlite_file(url) is None and not (url.database or "").startswith("file:"):
        # In-memory: every pooled connection would get a database of its own, so the
        # tables migrated on one would be missing on the next. Share one connection
        # (fine for tests and one-off tools; use a file for anything concurrent).
        engine = create_engine(
            url,
            echo=echo,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        engine = create_engine(url, echo=echo, **pool)
        path = _sqlite_file(url)
        if path is not None:
            # Before the driver opens (and so creates) the file: not at make_engine time,
            # since a command refused before its first query must leave no file behind.
            event.listen(engine, "do_connect", _owner_only_before_connect(path, url))
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for in-memory and ``file:`` URI databases."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _create_parent_folder(url: URL) -> None:
    # sqlite3 creates the file but not its folder; a fresh install points at a folder
    # that does not exist yet (e.g. ~/.local/share/syncengine/).
    path = _sqlite_file(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot create the folder for the database {safe_url(url)}: {exc.strerror or exc}"
        ) from exc


def _owner_only_before_connect(path: Path, url: URL) -> Any:
    def before_connect(*_args: Any) -> None:
        ensure_owner_only(path, url)

    return before_connect


def ensure_owner_only(path: Path, url: URL | None = None) -> None:
    """Create the SQLite file ``path`` owner-only (0o600) if it is missing; take the group
    and other bits off it and its companions if they have any.

    An existing file with wider permissions is tightened, with a warning, rather than
    refused: the permissions were most likely a umask's doing (the engine before this
    check created its file 0o644), and refusing would stop a working install for a
    problem the engine can fix. A file the engine may not chmod (another owner's) is
    used as it is, with the warning that says so.
    """
    try:
        # O_EXCL: an existing file is never opened here. Closing any descriptor of a file
        # drops every POSIX lock the process holds on it, so opening and closing the
        # database beside this process's other connections (a new pooled connection,
        # while other threads of a run or the daemon write) took their locks away: SQLite
        # then met "disk I/O error", and two writers could have thought the write lock
        # theirs (SQLite's docs, "How To Corrupt An SQLite Database File", 2.2). A file
        # created here is new: nobody holds a lock on it. The mode is applied only at
        # creation, and a umask can only take bits away from 0o600, never add any.
        fd = os.open(
            path,
            os.O_RDONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
            SQLITE_FILE_MODE,
        )
    except FileExistsError:
        # Another process's or an earlier connection's: only its mode is checked. Not
        # a file (a folder at that name): the driver says so, and nothing is chmod-ed.
        if not path.is_file():
            return
    except OSError:
        # Let the driver report it (read-only folder, a directory at that name...): its
        # error is translated into DatabaseUnavailable where the transaction opens.
        return
    else:
        os.close(fd)
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        _tighten(file, url)


def _tighten(file: Path, url: URL | None) -> None:
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    where = safe_url(url) if url is not None else "(SQLite database)"
    try:
        file.chmod(mode & ~0o077)
    except OSError as exc:
        log.warning(
            "database file readable by others and cannot be made owner-only",
            database=where,
            file=file.name,
            mode=oct(mode),
            error=exc.strerror or str(exc),
        )
        return
    log.warning(
        "database file was readable by others: made owner-only",
        database=where,
        file=file.name,
        was=oct(mode),
        now=oct(mode & ~0o077),
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (which skips it before SELECT and DDL, so
    # reads are not repeatable and migrations are not atomic); SQLAlchemy emits it in
    # _begin_sqlite_transaction instead. This is SQLAlchemy's documented recipe.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer nor the writer the readers.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable across application crashes in WAL mode; only a power cut
        # can lose the last commits, never corrupt the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


# A connection's execution option (set by ``sessions.transaction``): BEGIN takes the
# write lock up front.
IMMEDIATE = "syncengine_immediate"


def _begin_sqlite_transaction(connection: Any) -> None:
    immediate = connection.get_execution_options().get(IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# -- PostgreSQL ---------------------------------------------------------------------------


def _postgres_engine(url: URL, *, echo: bool, pool: dict[str, int]) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    # pre_ping: the scheduler keeps the process alive for days; a connection the server
    # or a firewall dropped meanwhile is replaced instead of failing the next sync.
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args, **pool)
