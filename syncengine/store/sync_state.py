"""Per-contact sync state in SQL: where each contact's sync stands with the platform."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select

from syncengine.domain.ports import SyncState
from syncengine.store.scoped import SqlRepository, mine
from syncengine.store.sessions import connected
from syncengine.store.tables import SyncStateRow, metadata
from syncengine.store.timestamps import optional_utc
from syncengine.store.upsert import insert_new_rows

_TABLE = metadata.tables["sync_state"]
_KEY = ("organization", "contact_id")
# Rows a streamed read fetches at a time.
_STREAMED = 1000
_DATA_COLUMNS = ("platform_key", "platform_modified", "synced_at", "last_outcome", "last_error")

# The statements, built once (see ``scoped.mine``).
_STATE_COLUMNS = [_TABLE.c[name] for name in (*_KEY[1:], *_DATA_COLUMNS)]
_GET = select(*_STATE_COLUMNS).where(mine(_TABLE, _TABLE.c.contact_id == bindparam("w_contact_id")))
_ALL = select(*_STATE_COLUMNS).where(mine(_TABLE)).order_by(_TABLE.c.contact_id)
_STREAMED_STAMPS = (
    select(_TABLE.c.contact_id, _TABLE.c.platform_modified)
    .where(mine(_TABLE))
    .order_by(_TABLE.c.contact_id)
    .execution_options(yield_per=_STREAMED)
)


class SqlSyncStateStore(SqlRepository):
    """``SyncStateStore`` on SQLite or PostgreSQL, limited to one organisation's contacts."""

    _row_type = SyncStateRow

    def get(self, contact_id: int) -> SyncState | None:
        with connected(self._engine) as connection:
            row = connection.execute(_GET, self._params(w_contact_id=contact_id)).first()
        return None if row is None else _to_state(row)

    def put(self, state: SyncState) -> None:
        """Insert or replace the state of ``state.contact_id`` (every field is overwritten)."""
        self._upsert(_TABLE, _values(state), key=_KEY, update=_DATA_COLUMNS)

    def add_new(self, states: Sequence[SyncState]) -> None:
        """Insert the states of contacts without one, in one transaction (a first sync's
        links); a contact that has one meanwhile (another run's) keeps it."""
        if not states:
            return
        rows = [{"organization": self._organization, **_values(s)} for s in states]
        with connected(self._engine) as connection:
            insert_new_rows(connection, _TABLE, rows, key=_KEY)

    def all(self) -> Sequence[SyncState]:
        """Every contact's state in this organisation, by contact id.

        Read as plain columns, not ORM objects: a run reads every state, and building an
        object per row was a fifth of a run that changed nothing."""
        with connected(self._engine) as connection:
            return [SyncState(**row._mapping) for row in connection.execute(_ALL, self._params())]

    def stream_platform_stamps(self) -> Iterator[tuple[int, datetime | None]]:
        """Two columns on the connection (no ORM result handling, no state objects: the
        whole states were 40 % of a run that read no document), streamed (``yield_per``:
        a server-side cursor on PostgreSQL), so that neither the driver nor this method
        holds every state at once."""
        with connected(self._engine) as connection:
            rows = connection.execute(_STREAMED_STAMPS, self._params())
            yield from ((contact_id, modified) for contact_id, modified in rows)


def _values(state: SyncState) -> dict[str, Any]:
    return {
        "contact_id": state.contact_id,
        "platform_key": state.platform_key,
        "platform_modified": optional_utc(state.platform_modified),
        "synced_at": optional_utc(state.synced_at),
        "last_outcome": state.last_outcome,
        "last_error": state.last_error,
    }


def _to_state(row: Row[Any]) -> SyncState:
    return SyncState(**row._mapping)
