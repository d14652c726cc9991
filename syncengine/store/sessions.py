"""Short transactions with translated errors: how every repository touches the database."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from syncengine.store.failures import failed, unavailable


def connect(engine: Engine) -> Connection:
    """A connection from ``engine``; failing to get one raises ``DatabaseUnavailable``."""
    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        raise unavailable(exc, engine.url) from exc


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on any error.

    The connection is opened first and on its own, so "cannot connect" (abort the run) is
    told apart from a failing statement.
    """
    connection = connect(engine)
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
def connection_in_transaction(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one transaction (for migrations), with translated errors."""
    connection = connect(engine)
    try:
        with connection, connection.begin():
            yield connection
    except SQLAlchemyError as exc:
        raise failed(exc, engine.url) from exc
