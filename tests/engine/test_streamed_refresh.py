"""The bulk refresh seen a page at a time: what ``sync --all`` keeps of it (ids and
stamps for the cursor, the changed records on disk) gives the cursor and the records the
whole list of pages gave."""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.ports import Cursor
from syncengine.domain.timestamps import crm_timestamp_sort_key
from syncengine.engine.bulk import CursorTracker, held_back
from syncengine.engine.fresh_records import FreshRecords

STAMPS = [
    "2024-05-01T10:00:00.5",
    "2024-05-01T10:00:00.50",  # the same moment, spelt differently
    "2024-05-01T09:59:59",
    "2024-05-02T00:00:00",
    "2024-04-30T23:59:59.999",
    None,  # a record without a stamp moves nothing
]


def advance(known: Cursor | None, found: list[dict[str, Any]], name: str) -> Cursor:
    """The reference: the cursor after a refresh held whole (the newest stamp seen, and
    the ids seen at it), as the engine computed it before it streamed."""
    stamps: list[tuple[int, str, int]] = [
        (crm_timestamp_sort_key(r["modifiedDateTimeUtc"]), r["modifiedDateTimeUtc"], int(r["id"]))
        for r in found
        if isinstance(r.get("modifiedDateTimeUtc"), str)
    ]
    if not stamps:
        return known or Cursor(name, None, [])
    newest_key, newest, _ = max(stamps)
    if (
        known is not None
        and known.high_water
        and (crm_timestamp_sort_key(known.high_water) > newest_key)
    ):
        return known
    ids = sorted(i for key, _, i in stamps if key == newest_key)
    return Cursor(name, newest, ids)


records = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(1, 60), "modifiedDateTimeUtc": st.sampled_from(STAMPS)}
    ),
    max_size=40,
    unique_by=lambda r: r["id"],  # keyset paging returns a contact once
)
cursors = st.one_of(
    st.none(),
    st.builds(
        Cursor,
        st.just("contacts"),
        st.sampled_from([s for s in STAMPS if s] + [None]),
        st.lists(st.integers(1, 60), max_size=3),
    ),
)


@given(records, cursors, st.integers(1, 7), st.sets(st.integers(1, 70), max_size=10))
def test_a_tracker_fed_page_by_page_moves_the_cursor_as_the_whole_list_did(
    found: list[dict[str, Any]], known: Cursor | None, page: int, unfinished: set[int]
) -> None:
    tracker = CursorTracker(known, "contacts")
    for start in range(0, len(found), page):
        tracker.see(found[start : start + page])

    whole = advance(known, found, "contacts")
    assert tracker.cursor() == whole
    assert tracker.held_back(whole, unfinished) == held_back(whole, found, unfinished)
    assert tracker.since == (known.high_water if known else None)


def test_fresh_records_are_kept_a_page_at_a_time_and_read_back_by_id() -> None:
    fresh = FreshRecords()
    try:
        fresh.add([{"id": 1, "name": "A"}, {"id": 2, "name": "B", "mergedIntoContactId": 7}])
        fresh.add([{"id": 3, "name": "C", "address": {"city": "Springfield"}}])
        fresh.add([{"id": 1, "name": "A again"}])  # seen twice: the later record counts

        assert sorted(fresh) == [1, 2, 3] and len(fresh) == 3
        assert fresh.get(1) == {"id": 1, "name": "A again"}
        assert fresh.get(3) == {"id": 3, "name": "C", "address": {"city": "Springfield"}}
        assert fresh.get(4) is None and 4 not in fresh and 2 in fresh
        assert fresh.survivor(2) == 7 and fresh.survivor(1) is None
    finally:
        fresh.close()


def test_fresh_records_are_read_from_several_threads_at_once() -> None:
    """``sync.concurrency`` syncs contacts on several threads, each reading its record."""
    fresh = FreshRecords()
    fresh.add([{"id": i, "name": f"Contact {i}"} for i in range(1, 401)])
    wrong: list[int] = []

    def read(ids: range) -> None:
        for i in ids:
            record = fresh.get(i)
            if record is None or record["name"] != f"Contact {i}":
                wrong.append(i)

    threads = [threading.Thread(target=read, args=(range(s, 401, 4),)) for s in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fresh.close()
    assert wrong == []


# Whatever ``read_json`` can hand over: JSON's values, any text (lone surrogates too, from
# a "\ud800" escape), numbers beyond 64 bits, floats JSON cannot spell but Python parses.
_JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(-(10**40), 10**40),
        st.floats(allow_nan=False),
        st.text(st.characters(codec=None, categories=None), max_size=8),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(max_size=4), _JSON_VALUES, max_size=4), max_size=5))
def test_fresh_records_read_back_exactly_what_was_kept(values: list[dict[str, Any]]) -> None:
    kept = [{**value, "id": i} for i, value in enumerate(values, start=1)]
    fresh = FreshRecords()
    try:
        fresh.add(kept)
        for record in kept:
            back = fresh.get(record["id"])
            assert back == record and back is not record
            assert repr(back) == repr(record), "the same types, floats alike (1.0 is not 1)"
    finally:
        fresh.close()
