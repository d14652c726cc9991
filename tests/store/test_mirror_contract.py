"""The MirrorStore contract, for every implementation (memory, SQLite, PostgreSQL)."""

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path as FsPath

import pytest
from sqlalchemy import Engine

from syncengine.errors import StoreError
from syncengine.store import MissingEntryError
from syncengine.store.mirror import SqlMirrorStore
from tests.fixtures.db import fresh_database_url, migrated_engine
from tests.store.conftest import Backend, MirrorStore, make_entry


def test_unknown_contact_is_absent(mirror: MirrorStore) -> None:
    assert mirror.get(404) is None
    assert mirror.all_ids() == []


def test_put_entry_comes_back_unchanged(mirror: MirrorStore) -> None:
    entry = make_entry(archived=True, merged_into=77)

    mirror.put(entry)

    assert mirror.get(entry.contact_id) == entry


def test_put_again_replaces_the_entry(mirror: MirrorStore) -> None:
    mirror.put(make_entry(1, content_hash="a" * 64))
    newer = make_entry(1, record={"id": 1, "name": "New"}, modified_raw=None, content_hash="b" * 64)

    mirror.put(newer)

    assert mirror.get(1) == newer
    assert mirror.all_ids() == [1]


def test_fetched_at_comes_back_as_utc(mirror: MirrorStore) -> None:
    two_hours_east = timezone(timedelta(hours=2))
    mirror.put(make_entry(fetched_at=datetime(2024, 5, 1, 14, 0, tzinfo=two_hours_east)))

    stored = mirror.get(1001)

    assert stored is not None
    assert stored.fetched_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert stored.fetched_at.utcoffset() == timedelta(0)


def test_microseconds_survive(mirror: MirrorStore) -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    mirror.put(make_entry(fetched_at=moment))

    stored = mirror.get(1001)

    assert stored is not None
    assert stored.fetched_at == moment


def test_naive_fetched_at_is_refused(mirror: MirrorStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        mirror.put(make_entry(fetched_at=datetime(2024, 5, 1, 12, 0)))
    assert mirror.get(1001) is None


def test_changing_a_record_after_put_or_get_does_not_change_the_mirror(
    mirror: MirrorStore,
) -> None:
    entry = make_entry()
    mirror.put(entry)
    entry.record["name"] = "changed after put"
    got = mirror.get(1001)
    assert got is not None
    got.record["customFields"].append({"name": "x", "value": 1})

    again = mirror.get(1001)

    assert again is not None
    assert again.record == make_entry().record


def test_json_values_of_every_kind_round_trip(mirror: MirrorStore) -> None:
    record = {
        "id": 5,
        "nested": {"list": [1, 2.5, None, True, "ünïcödé ☃"], "empty": {}},
        "big": 2**53,
        "nothing": None,
    }
    mirror.put(make_entry(5, record=record))

    stored = mirror.get(5)

    assert stored is not None
    assert stored.record == record


def test_contact_ids_beyond_32_bits_are_kept(mirror: MirrorStore) -> None:
    big = 2**40 + 7
    mirror.put(make_entry(big, merged_into=big + 1))

    stored = mirror.get(big)

    assert stored is not None
    assert (stored.contact_id, stored.merged_into) == (big, big + 1)


def test_set_archived_changes_only_the_archive_flag(mirror: MirrorStore) -> None:
    entry = make_entry()
    mirror.put(entry)

    mirror.set_archived(entry.contact_id, True)
    archived = mirror.get(entry.contact_id)
    mirror.set_archived(entry.contact_id, False)
    restored = mirror.get(entry.contact_id)

    assert archived is not None
    assert archived.archived is True
    assert archived.record == entry.record
    assert restored == entry


def test_set_archived_on_an_unmirrored_contact_raises_lookup_error(
    mirror: MirrorStore,
) -> None:
    with pytest.raises(MissingEntryError) as caught:
        mirror.set_archived(404, True)
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, StoreError)


def test_all_ids_lists_every_contact_ascending_including_archived(
    mirror: MirrorStore,
) -> None:
    for contact_id in (30, 10, 20):
        mirror.put(make_entry(contact_id))
    mirror.set_archived(20, True)

    assert mirror.all_ids() == [10, 20, 30]


def test_organisations_do_not_see_each_other(backend: Backend) -> None:
    north, south = backend.mirror("north"), backend.mirror("south")
    north.put(make_entry(1, record={"id": 1, "name": "North"}))
    south.put(make_entry(1, record={"id": 1, "name": "South"}))
    north.put(make_entry(2))

    north_one, south_one = north.get(1), south.get(1)

    assert north_one is not None and south_one is not None
    assert (north_one.record["name"], south_one.record["name"]) == ("North", "South")
    assert south.get(2) is None
    assert north.all_ids() == [1, 2]
    assert south.all_ids() == [1]
    with pytest.raises(MissingEntryError):
        south.set_archived(2, True)


def test_a_second_repository_on_the_same_store_sees_the_entries(backend: Backend) -> None:
    backend.mirror().put(make_entry(9))

    assert backend.mirror().all_ids() == [9]


def test_racing_first_puts_of_one_contact_all_succeed(mirror: MirrorStore) -> None:
    # Two workers mirroring the same new contact at once: an upsert, not select-then-insert.
    workers = 6
    start_together = threading.Barrier(workers)
    errors: list[BaseException] = []

    def put(n: int) -> None:
        try:
            start_together.wait()
            mirror.put(make_entry(1, content_hash=f"{n:064d}"))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert mirror.all_ids() == [1]


def test_stamps_of_are_the_stamps_of_the_ids_asked_that_are_mirrored(
    mirror: MirrorStore,
) -> None:
    """A bulk page's ids: one read for the page, none for the rest of the mirror."""
    mirror.put(make_entry(1))
    mirror.put(make_entry(2, modified_raw=None))
    mirror.put(make_entry(3))

    assert mirror.stamps_of([2, 1, 404]) == {1: "2024-04-30T10:15:00.1234567", 2: None}
    assert mirror.stamps_of([]) == {}
    many = [*range(10_000, 12_500), 3]  # beyond one statement's thousand ids
    assert mirror.stamps_of(many) == {3: "2024-04-30T10:15:00.1234567"}


def test_stream_ids_gives_every_mirrored_id_ascending(mirror: MirrorStore) -> None:
    for contact_id in (30, 2**40, 10, 2):
        mirror.put(make_entry(contact_id))

    assert list(mirror.stream_ids()) == [2, 10, 30, 2**40]


def test_stream_ids_and_stamps_of_are_one_organisations(backend: Backend) -> None:
    north, south = backend.mirror("north"), backend.mirror("south")
    north.put(make_entry(1))
    south.put(make_entry(2))

    assert list(south.stream_ids()) == [2]
    assert south.stamps_of([1, 2]) == {2: "2024-04-30T10:15:00.1234567"}


def test_add_new_inserts_only_the_contacts_not_mirrored_yet(mirror: MirrorStore) -> None:
    """A first sync's bulk links never overwrite what another run mirrored meanwhile."""
    theirs = make_entry(2, record={"id": 2, "name": "Another run's"}, content_hash="c" * 64)
    mirror.put(theirs)
    ours = [make_entry(i, record={"id": i, "name": f"Agreed {i}"}) for i in (1, 2, 3)]

    inserted = mirror.add_new(ours)

    assert inserted == {1, 3}
    assert mirror.get(2) == theirs
    assert mirror.get(1) == ours[0] and mirror.get(3) == ours[2]
    assert mirror.add_new([]) == set()
    assert mirror.add_new(ours) == set(), "a second time inserts nothing"


def test_add_new_that_fails_inserts_none_of_its_entries(db_engine: Engine) -> None:
    """All of a bulk insert or none of it: a row the database refuses (no content hash)
    leaves no entry behind, and the store works on."""
    mirror = SqlMirrorStore(db_engine)

    with pytest.raises(StoreError):
        mirror.add_new([make_entry(1), make_entry(2), make_entry(3, content_hash=None)])

    assert mirror.all_ids() == []
    assert mirror.add_new([make_entry(1)]) == {1}


@pytest.mark.postgres
def test_a_row_postgresqls_copy_refuses_leaves_none_of_its_batch(tmp_path: FsPath) -> None:
    """PostgreSQL's bulk insert goes through ``COPY``: a row it refuses there (a stamp
    longer than its column, which SQLite does not enforce) leaves none of the batch."""
    with fresh_database_url("postgres", tmp_path) as url, migrated_engine(url) as engine:
        mirror = SqlMirrorStore(engine)
        too_long = make_entry(3, modified_raw="9" * 65)

        with pytest.raises(StoreError):
            mirror.add_new([make_entry(1), make_entry(2), too_long])

        assert mirror.all_ids() == []
        assert mirror.add_new([make_entry(1)]) == {1}
