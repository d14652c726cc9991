"""The SyncStateStore contract, for every implementation (memory, SQLite, PostgreSQL)."""

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from syncengine.domain.ports import SyncState, SyncStateStore
from tests.store.conftest import START, Backend


def make_state(contact_id: int = 1001, **changes: Any) -> SyncState:
    values: dict[str, Any] = {
        "contact_id": contact_id,
        "platform_key": f"member-{contact_id}",
        "platform_modified": START - timedelta(minutes=5),
        "synced_at": START,
        "last_outcome": "ok",
        "last_error": None,
    }
    values.update(changes)
    return SyncState(**values)


def test_unknown_contact_has_no_state(sync_states: SyncStateStore) -> None:
    assert sync_states.get(404) is None
    assert sync_states.all() == []


def test_put_state_comes_back_unchanged(sync_states: SyncStateStore) -> None:
    state = make_state(last_outcome="failed", last_error="HTTP 422: email is invalid")

    sync_states.put(state)

    assert sync_states.get(1001) == state


def test_a_contact_never_synced_may_have_only_its_key(sync_states: SyncStateStore) -> None:
    state = SyncState(contact_id=7, platform_key=None, platform_modified=None, synced_at=None)

    sync_states.put(state)

    assert sync_states.get(7) == state


def test_put_again_replaces_every_field_including_clearing_them(
    sync_states: SyncStateStore,
) -> None:
    sync_states.put(make_state(last_outcome="failed", last_error="boom"))
    cleared = make_state(platform_key=None, platform_modified=None, last_outcome=None)

    sync_states.put(cleared)

    assert sync_states.get(1001) == cleared
    assert len(sync_states.all()) == 1


def test_timestamps_come_back_as_utc(sync_states: SyncStateStore) -> None:
    east = timezone(timedelta(hours=3))
    sync_states.put(
        make_state(
            platform_modified=datetime(2024, 5, 1, 15, 0, 0, 654321, tzinfo=east),
            synced_at=datetime(2024, 5, 1, 16, 0, tzinfo=east),
        )
    )

    got = sync_states.get(1001)

    assert got is not None
    assert got.platform_modified == datetime(2024, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)
    assert got.synced_at == datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert got.synced_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_refused_and_nothing_is_stored(sync_states: SyncStateStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        sync_states.put(make_state(synced_at=datetime(2024, 5, 1, 12, 0)))

    assert sync_states.get(1001) is None


def test_all_lists_every_contacts_state_by_contact_id(sync_states: SyncStateStore) -> None:
    for contact_id in (30, 2**40, 10):
        sync_states.put(make_state(contact_id))

    assert [state.contact_id for state in sync_states.all()] == [10, 30, 2**40]


def test_platform_stamps_are_each_contacts_platform_modified_in_utc(
    sync_states: SyncStateStore,
) -> None:
    east = timezone(timedelta(hours=3))
    sync_states.put(make_state(10, platform_modified=datetime(2024, 5, 1, 15, 0, 1, 5, east)))
    sync_states.put(make_state(2**40, platform_modified=None))

    stamps = dict(sync_states.stream_platform_stamps())

    assert stamps == {10: datetime(2024, 5, 1, 12, 0, 1, 5, tzinfo=UTC), 2**40: None}
    stamp = stamps[10]
    assert stamp is not None
    assert stamp.utcoffset() == timedelta(0)


def test_stream_platform_stamps_gives_platform_stamps_by_ascending_id(
    sync_states: SyncStateStore,
) -> None:
    east = timezone(timedelta(hours=3))
    sync_states.put(make_state(2**40, platform_modified=None))
    sync_states.put(make_state(30))
    sync_states.put(make_state(10, platform_modified=datetime(2024, 5, 1, 15, 0, 1, 5, east)))

    streamed = list(sync_states.stream_platform_stamps())

    assert streamed == [
        (10, datetime(2024, 5, 1, 12, 0, 1, 5, tzinfo=UTC)),
        (30, START - timedelta(minutes=5)),
        (2**40, None),
    ]


def test_stream_platform_stamps_are_one_organisations(backend: Backend) -> None:
    north, south = backend.sync_states("north"), backend.sync_states("south")
    north.put(make_state(1))
    south.put(make_state(2))

    assert [contact_id for contact_id, _ in south.stream_platform_stamps()] == [2]


def test_organisations_keep_separate_states(backend: Backend) -> None:
    north, south = backend.sync_states("north"), backend.sync_states("south")
    north.put(make_state(1, platform_key="north-1"))
    south.put(make_state(1, platform_key="south-1"))
    north.put(make_state(2))

    north_one, south_one = north.get(1), south.get(1)
    assert north_one is not None
    assert south_one is not None
    assert (north_one.platform_key, south_one.platform_key) == ("north-1", "south-1")
    assert south.get(2) is None
    assert [state.contact_id for state in south.all()] == [1]


def test_racing_first_puts_of_one_contact_all_succeed(sync_states: SyncStateStore) -> None:
    workers = 6
    start_together = threading.Barrier(workers)
    errors: list[BaseException] = []

    def put(n: int) -> None:
        try:
            start_together.wait()
            sync_states.put(make_state(1, last_outcome=f"run-{n}"))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [state.contact_id for state in sync_states.all()] == [1]


def test_add_new_inserts_only_the_contacts_without_a_state(sync_states: SyncStateStore) -> None:
    """A first sync's bulk links never overwrite another run's state written meanwhile."""
    theirs = make_state(2, last_outcome="pushed")
    sync_states.put(theirs)
    ours = [make_state(i, last_outcome="unchanged") for i in (1, 2, 3)]

    sync_states.add_new(ours)
    sync_states.add_new([])

    assert sync_states.all() == [ours[0], theirs, ours[2]]
