"""Pull cursors in SQL: high-water marks of incremental pulls, per organisation."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from syncengine.domain.ports import Cursor
from syncengine.store.sessions import transaction
from syncengine.store.tables import DEFAULT_ORGANIZATION, CursorRow, metadata
from syncengine.store.timestamps import as_utc, utcnow
from syncengine.store.upsert import upsert

_TABLE = metadata.tables["cursors"]
_KEY = ("organization", "name")
_DATA_COLUMNS = ("high_water", "ids_at_high_water", "updated_at")


class SqlCursorStore:
    """``CursorStore`` on SQLite or PostgreSQL, limited to one organisation's cursors.

    ``updated_at`` belongs to the store: ``put`` stamps it with ``clock`` (a value given
    in the ``Cursor`` is ignored).
    """

    def __init__(
        self,
        engine: Engine,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._organization = organization
        self._clock = clock

    @property
    def organization(self) -> str:
        return self._organization

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
            "organization": self._organization,
            "name": cursor.name,
            "high_water": cursor.high_water,
            "ids_at_high_water": list(cursor.ids_at_high_water),
            "updated_at": as_utc(self._clock()),
        }
        statement = upsert(
            self._engine.dialect.name, _TABLE, values, key=_KEY, update=_DATA_COLUMNS
        )
        with transaction(self._engine) as session:
            session.exec(statement)


def _to_cursor(row: CursorRow) -> Cursor:
    return Cursor(
        name=row.name,
        high_water=row.high_water,
        ids_at_high_water=list(row.ids_at_high_water),
        updated_at=row.updated_at,
    )
