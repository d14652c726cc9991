"""Short transactions with translated errors: how every repository touches the database."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import InvalidRequestError, SQLAlchemyError
from sqlmodel import Session

from syncengine.store.database import IMMEDIATE
from syncengine.store.failures import failed, unavailable


def connect(engine: Engine) -> Connection:
    """A connection from ``engine``; failing to get one raises ``DatabaseUnavailable``."""
    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        raise unavailable(exc, engine.url) from exc


def _open(engine: Engine, *, immediate: bool) -> Connection:
    connection = connect(engine)
    if immediate:
        connection.execution_options(**{IMMEDIATE: True})
    return connection


@dataclass
class _Shared:
    engine: Engine
    connection: Connection
    # Made on the first ORM use in the block (most repositories use the connection only),
    # with the transaction it joined.
    session: Session | None = None
    joined: RootTransaction | None = None


# The transaction ``one_transaction`` opened in this thread, which every repository call
# on the same engine joins instead of opening its own.
_shared = threading.local()


def _joined(engine: Engine) -> _Shared | None:
    """The ``one_transaction`` block of this thread on ``engine``, if in one."""
    shared: _Shared | None = getattr(_shared, "current", None)
    if shared is not None and shared.engine is engine:
        return shared
    return None


@contextmanager
def connected(engine: Engine, *, immediate: bool = False) -> Iterator[Connection]:
    """A Core connection in one transaction, committed on success and rolled back on any
    error: ``transaction`` without an ORM session, for repositories that run Core
    statements only (a session's creation, its begin and its execute path were most of
    what a short transaction cost the client).

    Same rules as ``transaction``: the connection is opened first and on its own, errors
    are translated, and inside ``one_transaction`` on the same engine, in the same
    thread, it is that transaction's connection: committed with it, never alone.

    The transaction begins at the first statement (SQLAlchemy's autobegin), as a
    session's did: a block that runs none sends no BEGIN and no COMMIT, and takes no
    write lock on SQLite.
    """
    shared = _joined(engine)
    if shared is not None:
        yield shared.connection
        return
    connection = _open(engine, immediate=immediate)
    try:
        with connection:  # closing it rolls back what is not committed
            yield connection
            connection.commit()
    except SQLAlchemyError as exc:
        raise failed(exc, engine.url) from exc


@contextmanager
def transaction(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on any error.

    The connection is opened first and on its own, so "cannot connect" (abort the run) is
    told apart from a failing statement. Inside ``one_transaction`` on the same engine, in
    the same thread, it is a session on that transaction's connection: committed with it,
    never alone.

    ``immediate``: on SQLite, take the write lock at BEGIN (waiting for it as long as the
    busy timeout allows) rather than at the first write. A transaction that reads and
    then writes would otherwise fail at once, without waiting, whenever another
    connection wrote since its read (SQLite cannot move a reader's snapshot forward).
    """
    shared = _joined(engine)
    if shared is not None:
        if shared.session is None:
            # Begun first, so that the session joins the block's transaction rather than
            # beginning (and on closing, rolling back) one of its own. rollback_only: it
            # never commits that transaction (the block does), though a failed flush
            # rolls it back.
            if not shared.connection.in_transaction():
                shared.connection.begin()
            shared.joined = shared.connection.get_transaction()
            shared.session = Session(
                bind=shared.connection,
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
        yield shared.session
        return
    connection = _open(engine, immediate=immediate)
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
    with connected(engine, immediate=writing) as connection:
        shared = _Shared(engine, connection)
        _shared.current = shared
        try:
            yield
            if shared.session is not None:
                # What the ORM holds unflushed is written before the commit.
                shared.session.flush()
                if connection.get_transaction() is not shared.joined:
                    # A failed flush rolled the block back, and what ran after it began
                    # a transaction of its own: committing that would be half a block.
                    raise InvalidRequestError(
                        "the transaction of a one_transaction block was rolled back "
                        "inside it: nothing of the block is committed"
                    )
        finally:
            _shared.current = None
            if shared.session is not None:
                shared.session.close()


@contextmanager
def connection_in_transaction(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one transaction (for migrations), with translated errors."""
    connection = connect(engine)
    try:
        with connection, connection.begin():
            yield connection
    except SQLAlchemyError as exc:
        raise failed(exc, engine.url) from exc
