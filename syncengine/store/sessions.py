"""Short transactions with translated errors: how every repository touches the database."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from syncengine.store.database import IMMEDIATE
from syncengine.store.failures import failed, unavailable


def connect(engine: Engine) -> Connection:
    """A connection from ``engine``; failing to get one raises ``DatabaseUnavailable``."""
    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        raise unavailable(exc, engine.url) from exc


@dataclass(frozen=True)
class _Shared:
    engine: Engine
    session: Session


# The transaction ``one_transaction`` opened in this thread, which every repository call
# on the same engine joins instead of opening its own.
_shared = threading.local()


@contextmanager
def transaction(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on any error.

    The connection is opened first and on its own, so "cannot connect" (abort the run) is
    told apart from a failing statement. Inside ``one_transaction`` on the same engine, in
    the same thread, it is that transaction's session: committed with it, never alone.

    ``immediate``: on SQLite, take the write lock at BEGIN (waiting for it as long as the
    busy timeout allows) rather than at the first write. A transaction that reads and
    then writes would otherwise fail at once, without waiting, whenever another
    connection wrote since its read (SQLite cannot move a reader's snapshot forward).
    """
    shared: _Shared | None = getattr(_shared, "current", None)
    if shared is not None and shared.engine is engine:
        yield shared.session
        return
    connection = connect(engine)
    if immediate:
        connection.execution_options(**{IMMEDIATE: True})
    try:
        with (
            connection,
            Session(bind=connection, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session
    except SQLAlchemyError as exc:
        raise failed(exc, engine.url) from exc


@contextmanager
def one_transaction(engine: Engine, *, writing: bool = True) -> Iterator[None]:
    """Every repository call on ``engine`` made inside, in this thread, in ONE transaction:
    all of them take effect or none, with one commit instead of one per call (on a
    pushed contact, committing was most of what the database cost).

    Never around a remote call or a platform write: what must be durable BEFORE one (a
    journal entry, a platform write's record) would not be until the block ends; and on
    SQLite a writing block holds the database's one write lock until it ends. Nested
    blocks join the outermost. ``writing=False``: a block that only reads (it may then
    run beside writers on SQLite, never taking the write lock).
    """
    if getattr(_shared, "current", None) is not None:
        yield
        return
    with transaction(engine, immediate=writing) as session:
        _shared.current = _Shared(engine, session)
        try:
            yield
        finally:
            _shared.current = None


@contextmanager
def connection_in_transaction(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one transaction (for migrations), with translated errors."""
    connection = connect(engine)
    try:
        with connection, connection.begin():
            yield connection
    except SQLAlchemyError as exc:
        raise failed(exc, engine.url) from exc
