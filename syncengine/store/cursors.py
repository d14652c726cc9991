"""Pull cursors in SQL: high-water marks of incremental pulls, per organisation."""

from typing import Any

from syncengine.domain.ports import Cursor
from syncengine.store.scoped import ClockedSqlRepository
from syncengine.store.sessions import transaction
from syncengine.store.tables import CursorRow, metadata
from syncengine.store.timestamps import as_utc

_TABLE = metadata.tables["cursors"]
_KEY = ("organization", "name")
_DATA_COLUMNS = ("high_water", "ids_at_high_water", "updated_at")


class SqlCursorStore(ClockedSqlRepository):
    """``CursorStore`` on SQLite or PostgreSQL, limited to one organisation's cursors.

    ``updated_at`` belongs to the store: ``put`` stamps it with ``clock`` (a value given
    in the ``Cursor`` is ignored).
    """

    _row_type = CursorRow

    def get(self, name: str) -> Cursor | None:
        with transaction(self._engine) as session:
            row = session.get(CursorRow, (self._organization, name))
            return None if row is None else _to_cursor(row)

    def put(self, cursor: Cursor) -> None:
        """Insert or replace the cursor ``cursor.name``.

        Stored as given, even if the mark moves backwards: resetting a cursor to pull
        again is the engine's decision, not something the store may refuse.
        """
        values: dict[str, Any] = {
            "name": cursor.name,
            "high_water": cursor.high_water,
            "ids_at_high_water": list(cursor.ids_at_high_water),
            "updated_at": as_utc(self._clock()),
        }
        self._upsert(_TABLE, values, key=_KEY, update=_DATA_COLUMNS)


def _to_cursor(row: CursorRow) -> Cursor:
    return Cursor(
        name=row.name,
        high_water=row.high_water,
        ids_at_high_water=list(row.ids_at_high_water),
        updated_at=row.updated_at,
    )
