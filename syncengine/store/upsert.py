"""INSERT ... ON CONFLICT DO UPDATE for the two backends (both support it, differently spelt)."""

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, TextClause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert


def upsert(
    dialect_name: str,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
    key_where: ColumnElement[bool] | TextClause | None = None,
    increment: Sequence[str] = (),
) -> Insert:
    """Insert ``values``; on a conflict on ``key``, overwrite only the ``update`` columns.

    One statement, so two workers putting the same contact cannot both try to insert it
    (a select-then-insert would let one of them fail with a duplicate key).

    ``key_where``: the predicate of a partial unique index on ``key`` (both backends need
    it spelt out to pick that index as the arbiter). A row outside the predicate never
    conflicts and is simply inserted.

    ``increment``: columns that count up by one on a conflict (how often it happened).
    """
    return _upsert(dialect_name, table, key, update, key_where, increment).values(dict(values))


@cache
def upsert_statement(
    dialect_name: str,
    table: Table,
    *,
    key: tuple[str, ...],
    update: tuple[str, ...],
    key_where: ColumnElement[bool] | TextClause | None = None,
    increment: tuple[str, ...] = (),
) -> Insert:
    """``upsert`` without values, built once per arguments: executed with the row as its
    parameters (``connection.execute(statement, row)``), it is compiled once and found in
    SQLAlchemy's cache on every later call. ``upsert`` with the row's values bound in it
    built a new statement, its ``excluded`` alias (a copy of every column) and its cache
    key on every call: most of what putting a mirror entry cost the client.

    The arguments are the cache's key: give ``key_where`` as one object kept for good
    (a module constant), not one made per call.
    """
    return _upsert(dialect_name, table, key, update, key_where, increment)


def _upsert(
    dialect_name: str,
    table: Table,
    key: Sequence[str],
    update: Sequence[str],
    key_where: ColumnElement[bool] | TextClause | None,
    increment: Sequence[str],
) -> Insert:
    """The statement both ``upsert`` and ``upsert_statement`` are: no values yet."""
    if dialect_name == "postgresql":
        pg_insert = postgresql.insert(table)
        return pg_insert.on_conflict_do_update(
            index_elements=list(key),
            index_where=key_where,
            set_=_changes(table, pg_insert.excluded, update, increment),
        )
    if dialect_name == "sqlite":
        lite_insert = sqlite.insert(table)
        return lite_insert.on_conflict_do_update(
            index_elements=list(key),
            index_where=key_where,
            set_=_changes(table, lite_insert.excluded, update, increment),
        )
    raise NotImplementedError(f"no upsert for the {dialect_name!r} dialect")


def _changes(
    table: Table, excluded: Any, update: Sequence[str], increment: Sequence[str]
) -> dict[str, Any]:
    changes: dict[str, Any] = {name: excluded[name] for name in update}
    changes.update({name: table.c[name] + 1 for name in increment})
    return changes


def insert_new(dialect_name: str, table: Table, *, key: Sequence[str]) -> Insert:
    """An insert of a row only if no row holds its ``key`` yet, to be executed with a list
    of rows (an ``executemany``).

    The statement holds no values: it compiles once and is cached, and SQLAlchemy sends
    the rows in multi-row batches ("insertmanyvalues", with ``RETURNING`` too). A
    statement with every row's values bound in it compiled anew for each call: 500 rows
    of 8 columns were 4,000 bound parameters to build, a third of a first sync's time."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key))
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
    raise NotImplementedError(f"no insert-if-absent for the {dialect_name!r} dialect")


def insert_new_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    returning: str | None = None,
) -> list[Any]:
    """``insert_new`` of ``rows`` (each with the same columns) on ``connection``, in its
    transaction; the ``returning`` column of the rows inserted, if asked.

    On PostgreSQL (psycopg) the rows are copied (``COPY``) into a temporary table and
    inserted from it by one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. The
    multi-row VALUES statement of ``insert_new`` (500 rows of 9 parameters: 147 KB of SQL,
    which psycopg also split again in Python for every batch) cost the server more to
    parse and plan than storing the rows did: a first sync's 2,000 mirror rows took 0.35
    to 0.75 s, 0.23 s this way (plain psycopg, side by side). Each value still goes
    through its column's bind processing (escaping, UTC), and all of it is in the
    caller's transaction: a failure or a crash leaves none of the rows, and the temporary
    table is dropped with the transaction whatever happens (``ON COMMIT DROP``; rolled
    back, it never existed).

    Elsewhere (SQLite): ``insert_new`` executed with the rows."""
    if not rows:
        return []
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        statement = insert_new(dialect.name, table, key=key)
        if returning is not None:
            statement = statement.returning(table.c[returning])
        result = connection.execute(statement, list(rows))
        return [] if returning is None else list(result.scalars())
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    staging = quote(f"new_{table.name}")
    # Through SQLAlchemy first: this begins its transaction, which the COPY below (on the
    # driver's own connection, underneath) then joins and the caller commits.
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
        f"SELECT {columns} FROM {quote(table.name)} WITH NO DATA"
    )
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    copy_sql = f"COPY {staging} ({columns}) FROM STDIN"
    driver = dialect.loaded_dbapi
    try:
        with (
            connection.connection.driver_connection.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(copy_sql) as copy,
        ):
            for row in rows:
                values = (row[name] for name in names)
                copy.write_row(
                    [v if p is None else p(v) for p, v in zip(processors, values, strict=True)]
                )
    except driver.Error as exc:  # the driver's, not SQLAlchemy's: translated as its are
        raise DBAPIError.instance(copy_sql, None, exc, driver.Error) from exc
    insert = (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {columns} FROM {staging} "
        f"ON CONFLICT ({', '.join(quote(name) for name in key)}) DO NOTHING"
    )
    if returning is not None:
        insert += f" RETURNING {quote(returning)}"
    inserted = connection.exec_driver_sql(insert)
    found = [] if returning is None else list(inserted.scalars())
    connection.exec_driver_sql(f"DROP TABLE {staging}")
    return found
