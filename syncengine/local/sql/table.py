"""The platform's table (or view), reflected, with the columns each option names.

Reflection (``Table(name, MetaData(), autoload_with=engine)``) means the adapter needs no
model of the partner's schema, and SQLAlchemy quotes every identifier properly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table
from sqlalchemy.exc import NoSuchTableError

from syncengine.errors import ConfigError
from syncengine.local.sql.connect import safe_url, translated
from syncengine.local.sql.settings import WHERE, ColumnPath, SqlSettings

__all__ = ["PlatformTable", "reflect"]


@dataclass(frozen=True)
class PlatformTable:
    table: Table
    label: str  # "schema.table" for messages
    key: Column[Any]
    contact_id: Column[Any]
    modified: Column[Any]
    document: Column[Any] | None
    mapped: tuple[tuple[ColumnPath, Column[Any]], ...]


def reflect(engine: Engine, settings: SqlSettings) -> PlatformTable:
    """Look the table up; ConfigError naming the option of anything that is not there."""
    label = f"{settings.schema}.{settings.table}" if settings.schema else settings.table
    where = f"table {label} in {safe_url(engine)}"
    with translated(where, "read the table's columns"):
        try:
            table = Table(settings.table, MetaData(), schema=settings.schema, autoload_with=engine)
        except NoSuchTableError:
            raise ConfigError(
                f"{WHERE}.table", f"no table or view {label!r} in {safe_url(engine)}"
            ) from None

    def column(option: str, name: str) -> Column[Any]:
        if name not in table.c:
            present = ", ".join(c.name for c in table.c)
            raise ConfigError(
                f"{WHERE}.{option}", f"no column {name!r} in {label} (its columns: {present})"
            )
        return table.c[name]

    return PlatformTable(
        table=table,
        label=label,
        key=column("key_column", settings.key_column),
        contact_id=column("contact_id_column", settings.contact_id_column),
        modified=column("modified_column", settings.modified_column),
        document=(
            column("document_column", settings.document_column)
            if settings.document_column
            else None
        ),
        mapped=tuple((c, column(f"columns.{c.column}", c.column)) for c in settings.columns),
    )
