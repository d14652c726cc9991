"""INSERT ... ON CONFLICT DO UPDATE for the two backends (both support it, differently spelt)."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert


def upsert(
    dialect_name: str,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> Insert:
    """Insert ``values``; on a conflict on ``key``, overwrite only the ``update`` columns.

    One statement, so two workers putting the same contact cannot both try to insert it
    (a select-then-insert would let one of them fail with a duplicate key).
    """
    if dialect_name == "postgresql":
        pg_insert = postgresql.insert(table).values(dict(values))
        return pg_insert.on_conflict_do_update(
            index_elements=list(key),
            set_={name: pg_insert.excluded[name] for name in update},
        )
    if dialect_name == "sqlite":
        lite_insert = sqlite.insert(table).values(dict(values))
        return lite_insert.on_conflict_do_update(
            index_elements=list(key),
            set_={name: lite_insert.excluded[name] for name in update},
        )
    raise NotImplementedError(f"no upsert for the {dialect_name!r} dialect")
