"""The sql adapter's options (``local.sql`` in the config), checked before any connection.

    url, table, schema?, key_column, contact_id_column, modified_column,
    document_column | columns, new_row_key?

Every problem is a ConfigError naming the option (``local.sql.columns.first_name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from syncengine.domain.paths import Append, Path, find_schema_field, parse_path
from syncengine.errors import ConfigError, ForbiddenChange, PathError
from syncengine.local.options import optional_text, reject_unknown, required_text

__all__ = ["ColumnPath", "NewRowKey", "SqlSettings"]

WHERE: Final = "local.sql"


class NewRowKey(StrEnum):
    """What the key of a row inserted for a CRM+ contact new to the platform is."""

    CONTACT_ID = "contact_id"  # the contact id as text (or number, for a numeric key)
    DATABASE = "database"  # left out of the INSERT: the database assigns it


@dataclass(frozen=True)
class ColumnPath:
    """One ``columns`` entry: a column holding the value at ``path``."""

    column: str
    path: Path

    @property
    def text(self) -> str:
        """The canonical path: the key of this value in ``LocalRecord.leaves``."""
        return self.path.render()


_KNOWN: Final = (
    "url",
    "table",
    "schema",
    "key_column",
    "contact_id_column",
    "modified_column",
    "document_column",
    "columns",
    "new_row_key",
)


@dataclass(frozen=True)
class SqlSettings:
    url: str
    table: str
    key_column: str
    contact_id_column: str
    modified_column: str
    schema: str | None = None
    document_column: str | None = None
    columns: tuple[ColumnPath, ...] = ()
    new_row_key: NewRowKey = NewRowKey.CONTACT_ID

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SqlSettings:
        """From the ``local.sql`` mapping."""
        reject_unknown(options, _KNOWN, WHERE)
        document_column = optional_text(options, "document_column", WHERE)
        raw_columns = options.get("columns")
        if document_column is not None and raw_columns is not None:
            raise ConfigError(
                f"{WHERE}.columns",
                "give either document_column (one JSON document per row) or columns, not both",
            )
        if document_column is None and raw_columns is None:
            raise ConfigError(
                f"{WHERE}.document_column",
                "missing: give document_column (a column holding one JSON document per "
                "row) or columns (a mapping of column name to path)",
            )
        settings = cls(
            url=required_text(options, "url", WHERE),
            table=required_text(options, "table", WHERE),
            schema=optional_text(options, "schema", WHERE),
            key_column=required_text(options, "key_column", WHERE),
            contact_id_column=required_text(options, "contact_id_column", WHERE),
            modified_column=required_text(options, "modified_column", WHERE),
            document_column=document_column,
            columns=_columns(raw_columns) if raw_columns is not None else (),
            new_row_key=_new_row_key(options.get("new_row_key")),
        )
        settings._check_distinct()
        return settings

    def _check_distinct(self) -> None:
        # One column with two jobs would be overwritten by one of them: say so now.
        roles: dict[str, str] = {}
        named = [
            ("key_column", self.key_column),
            ("contact_id_column", self.contact_id_column),
            ("modified_column", self.modified_column),
        ]
        if self.document_column is not None:
            named.append(("document_column", self.document_column))
        named += [(f"columns.{c.column}", c.column) for c in self.columns]
        for option, column in named:
            if column in roles:
                raise ConfigError(
                    f"{WHERE}.{option}",
                    f"column {column!r} is already the {roles[column]}: each column has one job",
                )
            roles[column] = option


def _columns(raw: Any) -> tuple[ColumnPath, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{WHERE}.columns", "must be a non-empty mapping of column name to path")
    result: list[ColumnPath] = []
    by_path: dict[str, str] = {}
    for column, text in raw.items():
        where = f"{WHERE}.columns.{column}"
        if not isinstance(column, str) or not column.strip():
            raise ConfigError(f"{WHERE}.columns", f"a column name must be text, not {column!r}")
        if not isinstance(text, str):
            raise ConfigError(where, f"must be a path such as address.city, not {text!r}")
        path = _checked_path(text, where)
        if path.render() in by_path:
            raise ConfigError(
                where, f"the path {path.render()!r} is already mapped to {by_path[path.render()]!r}"
            )
        by_path[path.render()] = column
        result.append(ColumnPath(column, path))
    return tuple(result)


def _checked_path(text: str, where: str) -> Path:
    try:
        path = parse_path(text)
        # The schema catches paths that parse but can never resolve on a Contact
        # (``contactIndividuals.firstName``: an array needs an item selector).
        find_schema_field(path)
    except (PathError, ForbiddenChange) as exc:
        raise ConfigError(where, f"not a usable path: {exc}") from None
    if any(isinstance(seg, Append) for seg in path.segments):
        raise ConfigError(
            where, "a column cannot hold '[+]' (a new item): name an item by key=value"
        )
    return path


def _new_row_key(raw: Any) -> NewRowKey:
    if raw is None:
        return NewRowKey.CONTACT_ID
    choices = [k.value for k in NewRowKey]
    if not isinstance(raw, str) or raw not in choices:
        raise ConfigError(
            f"{WHERE}.new_row_key", f"must be one of {', '.join(choices)}, not {raw!r}"
        )
    return NewRowKey(raw)
