"""The mirror in SQL: the last-known CRM+ record of each contact, per organisation."""

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, tzinfo
from typing import Any

from sqlalchemy import Engine, Row, bindparam, select, update

from syncengine.domain.ports import MirrorEntry
from syncengine.store.failures import MissingEntryError
from syncengine.store.scoped import SqlRepository, mine
from syncengine.store.sessions import connected
from syncengine.store.tables import DEFAULT_ORGANIZATION, MirrorRow, metadata
from syncengine.store.timestamps import as_utc, parse_crm_timestamp
from syncengine.store.upsert import insert_new_rows

_TABLE = metadata.tables["mirror"]
_KEY = ("organization", "contact_id")
# What a put overwrites: everything but the key.
_DATA_COLUMNS = (
    "record",
    "modified_raw",
    "modified_at",
    "content_hash",
    "fetched_at",
    "archived",
    "merged_into",
)

# The statements, built once (see ``scoped.mine``).
_ONE = mine(_TABLE, _TABLE.c.contact_id == bindparam("w_contact_id"))
_GET = select(_TABLE).where(_ONE)
_SET_ARCHIVED = update(_TABLE).where(_ONE)
_ALL_IDS = select(_TABLE.c.contact_id).where(mine(_TABLE)).order_by(_TABLE.c.contact_id)
_STAMPS_OF = select(_TABLE.c.contact_id, _TABLE.c.modified_raw).where(
    mine(_TABLE, _TABLE.c.contact_id.in_(bindparam("w_ids", expanding=True)))
)


# Rows a streamed read fetches at a time.
_STREAMED = 1000
_STREAMED_IDS = _ALL_IDS.execution_options(yield_per=_STREAMED)


class SqlMirrorStore(SqlRepository):
    """``MirrorStore`` on SQLite or PostgreSQL, limited to one organisation's rows.

    ``timestamp_zone`` is the zone CRM+ renders ``modifiedDateTimeUtc`` in (it carries no
    suffix); it only affects the parsed copy used for ordering.
    """

    _row_type = MirrorRow

    def __init__(
        self,
        engine: Engine,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        timestamp_zone: tzinfo = UTC,
    ) -> None:
        super().__init__(engine, organization)
        self._timestamp_zone = timestamp_zone

    def get(self, contact_id: int) -> MirrorEntry | None:
        with connected(self._engine) as connection:
            row = connection.execute(_GET, self._params(w_contact_id=contact_id)).first()
        return None if row is None else _to_entry(row)

    def put(self, entry: MirrorEntry) -> None:
        """Insert or replace the entry of ``entry.contact_id``."""
        self._upsert(_TABLE, self._values(entry), key=_KEY, update=_DATA_COLUMNS)

    def add_new(self, entries: Sequence[MirrorEntry]) -> set[int]:
        """Insert the entries of contacts not mirrored yet, in one transaction (a first
        sync links thousands: one transaction each was most of its time); the ids
        inserted. A contact mirrored meanwhile (by another run) keeps its entry."""
        if not entries:
            return set()
        rows = [{"organization": self._organization, **self._values(e)} for e in entries]
        with connected(self._engine) as connection:
            return set(insert_new_rows(connection, _TABLE, rows, key=_KEY, returning="contact_id"))

    def _values(self, entry: MirrorEntry) -> dict[str, Any]:
        return {
            "contact_id": entry.contact_id,
            "record": entry.record,
            "modified_raw": entry.modified_raw,
            "modified_at": parse_crm_timestamp(entry.modified_raw, self._timestamp_zone),
            "content_hash": entry.content_hash,
            "fetched_at": as_utc(entry.fetched_at),
            "archived": entry.archived,
            "merged_into": entry.merged_into,
        }

    def set_archived(self, contact_id: int, archived: bool) -> None:
        """Record the archive state; raises ``MissingEntryError`` if the contact is not mirrored."""
        parameters = self._params(w_contact_id=contact_id, archived=archived)
        with connected(self._engine) as connection:
            if connection.execute(_SET_ARCHIVED, parameters).rowcount != 1:
                raise MissingEntryError(
                    f"contact {contact_id} is not in the mirror of {self._organization!r}"
                )

    def all_ids(self) -> list[int]:
        """Every mirrored contact id of this organisation (archived ones too), ascending."""
        with connected(self._engine) as connection:
            return list(connection.execute(_ALL_IDS, self._params()).scalars())

    def stamps_of(self, contact_ids: Collection[int]) -> dict[int, str | None]:
        """Those of ``contact_ids`` mirrored, with their stamps (a bulk page's thousand ids:
        one statement; more, a statement per thousand, within the databases' limits on
        bound parameters)."""
        ids = list(contact_ids)
        found: dict[int, str | None] = {}
        if not ids:
            return found
        with connected(self._engine) as connection:
            for start in range(0, len(ids), _STREAMED):
                rows = connection.execute(
                    _STAMPS_OF, self._params(w_ids=ids[start : start + _STREAMED])
                )
                found.update((contact_id, stamp) for contact_id, stamp in rows)
        return found

    def stream_ids(self) -> Iterator[int]:
        """Streamed (``yield_per``: a server-side cursor on PostgreSQL), so that neither
        the driver nor this method holds every id at once."""
        with connected(self._engine) as connection:
            for (contact_id,) in connection.execute(_STREAMED_IDS, self._params()):
                yield contact_id


def _to_entry(row: Row[Any]) -> MirrorEntry:
    return MirrorEntry(
        contact_id=row.contact_id,
        record=row.record,
        modified_raw=row.modified_raw,
        content_hash=row.content_hash,
        fetched_at=row.fetched_at,
        archived=row.archived,
        merged_into=row.merged_into,
    )
