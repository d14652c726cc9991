"""Engines for the platform's database, and translation of SQLAlchemy's errors.

Foreign errors are translated once, here, at the adapter boundary:
- the database cannot be reached or used at all -> ``LocalPlatformError`` (abort the run);
- it refused one record's values -> ``LocalDataError`` (skip that record).
Messages name the table and show the URL without its password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import URL, Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError

from syncengine.errors import ConfigError, LocalDataError, LocalPlatformError

__all__ = ["first_line", "make_engine", "safe_url", "translated"]

# Spellings SQLAlchemy would map to psycopg2 (not a dependency) or not accept at all.
_POSTGRES_SCHEMES: Final = frozenset({"postgresql", "postgres"})
_POSTGRES_DRIVER: Final = "postgresql+psycopg"


def make_engine(url_text: str) -> Engine:
    """An engine for the platform's database; ConfigError ``local.sql.url`` if unusable."""
    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError, TypeError):
        # Not echoed: the text may hold a password.
        raise ConfigError(
            "local.sql.url",
            "not a database URL (e.g. sqlite:///platform.db, "
            "postgresql+psycopg://user@host/dbname)",
        ) from None
    if url.drivername in _POSTGRES_SCHEMES:
        url = url.set(drivername=_POSTGRES_DRIVER)
    try:
        # pre_ping: a scheduler keeps the process alive for days; a connection dropped
        # meanwhile is replaced instead of failing the next run.
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise ConfigError(
            "local.sql.url", f"the database driver for {safe_url(url)} is not installed ({exc})"
        ) from exc
    except ArgumentError as exc:
        raise ConfigError("local.sql.url", f"unusable URL {safe_url(url)}: {exc}") from None


def safe_url(url: URL | Engine) -> str:
    """The URL for messages: a password, if any, shown as ``***``."""
    if isinstance(url, Engine):
        url = url.url
    return url.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line only: SQLAlchemy's adds the SQL and its
    parameters (personal data) and a link to its docs."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


@contextmanager
def translated(where: str, doing: str, *, record: str | None = None) -> Iterator[None]:
    """Translate SQLAlchemy errors raised inside the block.

    ``record``: the record being written, if any; the database refusing its values
    (a type, length or constraint error) is then that record's problem, not the run's.
    """
    try:
        yield
    except (DataError, IntegrityError) as exc:
        if record is None:
            raise LocalPlatformError(where, f"cannot {doing}: {first_line(exc)}") from exc
        raise LocalDataError(record, f"the database refused the values: {first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise LocalPlatformError(where, f"cannot {doing}: {first_line(exc)}") from exc
