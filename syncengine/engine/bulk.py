"""The bulk refresh: which contacts CRM+ changed, in as few requests as the API allows.

There is no "changed since" endpoint: ``Query/FullContact`` by ``Last Modified Date``,
keyset-paged by ``Contact Id`` (``GreaterThan`` the last id seen, sorted, 1,000 a page,
until a short page: large ``skip`` values are reported to fail). The date filter may be
day-granular, so the window starts a day before the cursor's high-water mark and what the
mirror already holds at the same ``modifiedDateTimeUtc`` is dropped by the caller. The
cursor keeps the newest stamp seen and the ids seen at it (dlt's incremental habit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from syncengine.domain.ports import CrmPort, Cursor, Record
from syncengine.domain.timestamps import crm_timestamp_sort_key, parse_crm_timestamp

PAGE = 1000
CURSOR = "contacts"


def pages(
    crm: CrmPort, since: str | None = None, *, include_archived: bool = False
) -> Iterator[list[Record]]:
    """Every contact CRM+ modified on or after the day before ``since`` (a raw stamp), or
    every contact at all when ``since`` is None, a page at a time (archived ones too if
    ``include_archived``: a reconciliation must see them)."""
    conditions: list[Record] = []
    if since:
        day = parse_crm_timestamp(since).date() - timedelta(days=1)
        conditions.append(
            {"parameter": "Last Modified Date", "operator": "OnOrAfter", "value": day.isoformat()}
        )
    last_id = 0
    while True:
        query = {
            "groups": [
                {
                    "conditions": [
                        *conditions,
                        {
                            "parameter": "Contact Id",
                            "operator": "GreaterThan",
                            "value": str(last_id),
                        },
                    ]
                }
            ],
            "sortBy": "Contact Id",
            "descending": False,
        }
        if include_archived:
            query["includeArchived"] = True
        page = crm.query_full_contacts(query, skip=0, take=PAGE)
        yield page.items
        if len(page.items) < PAGE:
            return
        last_id = max(int(item["id"]) for item in page.items)


def held_back(cursor: Cursor, found: list[Record], unfinished: set[int]) -> Cursor:
    """``cursor``, no later than the oldest CRM-side change of an ``unfinished`` contact:
    the next query (on or after that stamp's day, minus one) returns it again. Holding a
    cursor back only makes the next window overlap more; it never loses anything."""
    stamps = [
        (crm_timestamp_sort_key(r["modifiedDateTimeUtc"]), r["modifiedDateTimeUtc"])
        for r in found
        if int(r["id"]) in unfinished and isinstance(r.get("modifiedDateTimeUtc"), str)
    ]
    if not stamps:
        return cursor
    oldest_key, oldest = min(stamps)
    if cursor.high_water is not None and crm_timestamp_sort_key(cursor.high_water) <= oldest_key:
        return cursor
    return Cursor(cursor.name, oldest, [])


class CursorTracker:
    """The cursor after a refresh seen a page at a time (the newest stamp seen, and the
    ids seen at it), and ``held_back``.

    What a streamed refresh keeps of each record it saw is its id and stamp (equal
    stamps share one string), not the record: enough to move the cursor and to hold it
    back for the contacts a run did not finish, in memory that stays small at 100,000
    contacts."""

    def __init__(self, known: Cursor | None, name: str) -> None:
        self._known = known
        self._name = name
        self.since = known.high_water if known else None  # where the query starts
        self._stamps: dict[int, str] = {}
        self._shared: dict[str, str] = {}

    def see(self, records: list[Record]) -> None:
        for record in records:
            stamp = record.get("modifiedDateTimeUtc")
            if isinstance(stamp, str):
                self._stamps[int(record["id"])] = self._shared.setdefault(stamp, stamp)

    def cursor(self) -> Cursor:
        """The cursor after everything seen: the newest stamp (the known cursor's if that
        is newer) and the ids seen at it."""
        keys = {stamp: crm_timestamp_sort_key(stamp) for stamp in self._shared}
        if not keys:
            return self._known or Cursor(self._name, None, [])
        newest_key, newest = max((key, stamp) for stamp, key in keys.items())
        known = self._known
        if known and known.high_water and crm_timestamp_sort_key(known.high_water) > newest_key:
            return known
        ids = sorted(i for i, stamp in self._stamps.items() if keys[stamp] == newest_key)
        return Cursor(self._name, newest, ids)

    def held_back(self, cursor: Cursor, unfinished: set[int]) -> Cursor:
        """``cursor``, held back for the ``unfinished`` contacts seen (``held_back``)."""
        seen = [
            {"id": i, "modifiedDateTimeUtc": self._stamps[i]}
            for i in unfinished
            if i in self._stamps
        ]
        return held_back(cursor, seen, unfinished)
