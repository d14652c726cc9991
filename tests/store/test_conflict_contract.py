"""The ConflictStore contract, for every implementation (memory, SQLite, PostgreSQL)."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from syncengine.domain.ports import ConflictStatus, ConflictStore
from syncengine.errors import StoreError
from syncengine.store import ConflictStateError, MissingEntryError
from tests.store.conftest import START, Backend, StepClock, make_conflict

RESOLVED_AT = START + timedelta(days=1)


def run_together(workers: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(n)`` on ``workers`` threads released at the same moment."""
    start_together = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start_together.wait()
            results.append(work(n))
        except BaseException as exc:  # reported by the caller: a thread's exception is lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


# -- record --------------------------------------------------------------------------------


def test_recorded_conflict_comes_back_open_with_an_id_and_the_stores_timestamps(
    conflicts: ConflictStore, clock: StepClock
) -> None:
    stored = conflicts.record(make_conflict())

    assert stored.id is not None
    assert stored.status is ConflictStatus.OPEN
    assert stored.created_at == stored.updated_at == clock.now
    expected = make_conflict(id=stored.id, created_at=clock.now, updated_at=clock.now)
    assert stored == expected
    assert conflicts.get(stored.id) == expected


def test_id_and_timestamps_given_in_the_record_are_replaced_by_the_stores(
    conflicts: ConflictStore, clock: StepClock
) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)

    stored = conflicts.record(make_conflict(id=999_999, created_at=long_ago, updated_at=long_ago))

    assert stored.id != 999_999
    assert stored.created_at == stored.updated_at == clock.now


def test_recording_a_field_that_is_already_open_refreshes_that_conflict(
    conflicts: ConflictStore, clock: StepClock
) -> None:
    first = conflicts.record(make_conflict())
    newer = make_conflict(
        platform="Ada King",
        crm="Augusta Ada",
        platform_modified=START,
        crm_author="john@example.org",
        suggestion="Augusta Ada",
        rule="newest",
    )

    refreshed = conflicts.record(newer)

    assert refreshed.id == first.id
    assert (refreshed.platform, refreshed.crm, refreshed.suggestion, refreshed.rule) == (
        "Ada King",
        "Augusta Ada",
        "Augusta Ada",
        "newest",
    )
    assert refreshed.crm_author == "john@example.org"
    assert refreshed.created_at == first.created_at
    assert refreshed.updated_at == clock.now
    assert refreshed.updated_at != first.updated_at
    assert conflicts.list() == [refreshed]


def test_open_conflicts_on_other_fields_or_contacts_are_kept_apart(
    conflicts: ConflictStore,
) -> None:
    ids = {
        conflicts.record(make_conflict(1, "name")).id,
        conflicts.record(make_conflict(1, "email")).id,
        conflicts.record(make_conflict(2, "name")).id,
    }

    assert len(ids) == 3
    assert len(conflicts.list(status=ConflictStatus.OPEN)) == 3


def test_a_resolved_field_that_conflicts_again_gets_a_new_open_conflict(
    conflicts: ConflictStore,
) -> None:
    first = conflicts.record(make_conflict())
    assert first.id is not None
    conflicts.resolve(first.id, "Ada Lovelace", resolved_by="jane", at=RESOLVED_AT)

    again = conflicts.record(make_conflict(crm="Ada Byron"))

    assert again.id != first.id
    assert [c.status for c in conflicts.list()] == [ConflictStatus.RESOLVED, ConflictStatus.OPEN]
    resolved = conflicts.get(first.id)
    assert resolved is not None
    assert resolved.crm == "Ada Lovelace"  # history is not refreshed


def test_auto_conflicts_are_history_and_never_merge_with_each_other_or_an_open_one(
    conflicts: ConflictStore,
) -> None:
    open_one = conflicts.record(make_conflict())
    auto_one = conflicts.record(make_conflict(status=ConflictStatus.AUTO, rule="newest"))
    auto_two = conflicts.record(make_conflict(status=ConflictStatus.AUTO, rule="newest"))

    assert len({open_one.id, auto_one.id, auto_two.id}) == 3
    assert conflicts.list(status=ConflictStatus.AUTO) == [auto_one, auto_two]
    assert conflicts.list(status=ConflictStatus.OPEN) == [open_one]


def test_a_status_given_as_its_string_is_stored_as_the_enum(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict(status="auto"))

    assert stored.status is ConflictStatus.AUTO


def test_an_unknown_status_is_refused(conflicts: ConflictStore) -> None:
    with pytest.raises(ValueError, match="bogus"):
        conflicts.record(make_conflict(status="bogus"))
    assert conflicts.list() == []


# -- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        0,
        2**53 + 1,
        -1.5,
        True,
        False,
        "Zürich — №2",
        [],
        {},
        [1, None, "x", {"nested": [True, None]}],
        {"street": None, "lines": ["a", "b"], "n": {"deep": 1.25}},
    ],
    ids=repr,
)
def test_json_values_of_every_kind_round_trip_in_every_value_column(
    conflicts: ConflictStore, value: Any
) -> None:
    stored = conflicts.record(
        make_conflict(base=value, platform=value, crm=value, suggestion=value)
    )
    assert stored.id is not None

    got = conflicts.get(stored.id)

    assert got is not None
    assert (got.base, got.platform, got.crm, got.suggestion) == (value, value, value, value)
    # bool is an int in Python: check the JSON kind survived, not just equality.
    assert type(got.base) is type(value)


def test_a_null_base_reads_back_as_none(conflicts: ConflictStore) -> None:
    # A field absent from the base (first sync, new field) is recorded as None, like a
    # field that was null: the conflict does not tell the two apart.
    stored = conflicts.record(make_conflict(base=None, suggestion=None))

    assert (stored.base, stored.suggestion, stored.resolution) == (None, None, None)


def test_timestamps_come_back_as_utc(conflicts: ConflictStore) -> None:
    east = timezone(timedelta(hours=2))

    stored = conflicts.record(
        make_conflict(
            platform_modified=datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=east),
            crm_modified=None,
        )
    )
    assert stored.id is not None

    got = conflicts.get(stored.id)
    assert got is not None
    assert got.platform_modified == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert got.platform_modified.utcoffset() == timedelta(0)
    assert got.crm_modified is None


def test_a_naive_timestamp_is_refused_and_nothing_is_stored(conflicts: ConflictStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        conflicts.record(make_conflict(crm_modified=datetime(2024, 5, 1, 12, 0)))

    assert conflicts.list() == []


def test_changing_a_record_after_recording_or_reading_does_not_change_the_store(
    conflicts: ConflictStore,
) -> None:
    given = make_conflict(platform={"tags": ["a"]})
    stored = conflicts.record(given)
    assert stored.id is not None
    given.platform["tags"].append("given-later")
    stored.platform["tags"].append("returned-later")
    got = conflicts.get(stored.id)
    assert got is not None
    got.platform["tags"].append("read-later")

    again = conflicts.get(stored.id)

    assert again is not None
    assert again.platform == {"tags": ["a"]}


# -- get and list --------------------------------------------------------------------------


def test_unknown_conflict_is_absent(conflicts: ConflictStore) -> None:
    assert conflicts.get(12345) is None
    assert conflicts.list() == []


def test_list_filters_by_status_and_contact_and_is_ordered_by_id(
    conflicts: ConflictStore,
) -> None:
    a = conflicts.record(make_conflict(2, "name"))
    b = conflicts.record(make_conflict(1, "name", status=ConflictStatus.AUTO))
    c = conflicts.record(make_conflict(1, "email"))
    d = conflicts.record(make_conflict(2, "email", status=ConflictStatus.AUTO))

    assert [x.id for x in conflicts.list()] == [a.id, b.id, c.id, d.id]
    assert [x.id for x in conflicts.list(status=ConflictStatus.OPEN)] == [a.id, c.id]
    assert [x.id for x in conflicts.list(contact_id=1)] == [b.id, c.id]
    assert [x.id for x in conflicts.list(status=ConflictStatus.AUTO, contact_id=2)] == [d.id]
    assert conflicts.list(status=ConflictStatus.RESOLVED) == []
    assert conflicts.list(contact_id=404) == []


# -- resolve -------------------------------------------------------------------------------


def test_resolving_records_the_choice_who_made_it_and_when(
    conflicts: ConflictStore, clock: StepClock
) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None

    resolved = conflicts.resolve(
        stored.id, {"chosen": ["Ada", None]}, resolved_by="jane", at=RESOLVED_AT
    )

    assert resolved.status is ConflictStatus.RESOLVED
    assert resolved.resolution == {"chosen": ["Ada", None]}
    assert (resolved.resolved_by, resolved.resolved_at) == ("jane", RESOLVED_AT)
    assert resolved.applied_at is None
    assert resolved.updated_at == clock.now
    assert resolved.created_at == stored.created_at
    assert conflicts.get(stored.id) == resolved
    assert conflicts.list(status=ConflictStatus.OPEN) == []


def test_resolving_to_null_is_a_choice_like_any_other(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None

    resolved = conflicts.resolve(stored.id, None, resolved_by="jane", at=RESOLVED_AT)

    assert (resolved.status, resolved.resolution) == (ConflictStatus.RESOLVED, None)


def test_resolving_time_is_kept_in_utc(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None
    west = timezone(timedelta(hours=-5))

    resolved = conflicts.resolve(
        stored.id, "x", resolved_by="jane", at=datetime(2024, 5, 2, 7, 0, tzinfo=west)
    )

    assert resolved.resolved_at == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def test_resolving_a_resolved_conflict_is_refused_and_the_first_choice_stands(
    conflicts: ConflictStore,
) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None
    first = conflicts.resolve(stored.id, "first", resolved_by="jane", at=RESOLVED_AT)

    with pytest.raises(ConflictStateError) as caught:
        conflicts.resolve(stored.id, "second", resolved_by="john", at=RESOLVED_AT)

    assert isinstance(caught.value, StoreError)
    assert (caught.value.conflict_id, caught.value.status) == (stored.id, "resolved")
    assert str(caught.value) == (
        f"conflict {stored.id} is resolved: it cannot be resolved (only open conflicts can)"
    )
    assert conflicts.get(stored.id) == first


def test_resolving_an_automatically_decided_conflict_is_refused(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict(status=ConflictStatus.AUTO))
    assert stored.id is not None

    with pytest.raises(ConflictStateError, match="is auto"):
        conflicts.resolve(stored.id, "x", resolved_by="jane", at=RESOLVED_AT)
    assert conflicts.get(stored.id) == stored


def test_resolving_an_unknown_conflict_raises_lookup_error(conflicts: ConflictStore) -> None:
    with pytest.raises(MissingEntryError) as caught:
        conflicts.resolve(12345, "x", resolved_by="jane", at=RESOLVED_AT)
    assert isinstance(caught.value, LookupError)


def test_resolving_with_a_naive_time_is_refused(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None

    with pytest.raises(ValueError, match="naive"):
        conflicts.resolve(stored.id, "x", resolved_by="jane", at=datetime(2024, 5, 2))
    assert conflicts.get(stored.id) == stored


def test_of_racing_resolvers_exactly_one_wins(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict())
    conflict_id = stored.id
    assert conflict_id is not None

    results, errors = run_together(
        6,
        lambda n: conflicts.resolve(conflict_id, n, resolved_by=f"user-{n}", at=RESOLVED_AT),
    )

    assert len(results) == 1
    assert len(errors) == 5
    assert all(isinstance(error, ConflictStateError) for error in errors), errors
    assert conflicts.get(conflict_id) == results[0]


# -- mark_applied --------------------------------------------------------------------------


def test_marking_a_resolved_conflict_applied_keeps_the_first_time(
    conflicts: ConflictStore,
) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None
    conflicts.resolve(stored.id, "x", resolved_by="jane", at=RESOLVED_AT)
    applied = RESOLVED_AT + timedelta(hours=1)

    conflicts.mark_applied(stored.id, applied)
    conflicts.mark_applied(stored.id, applied + timedelta(hours=1))  # a re-run

    got = conflicts.get(stored.id)
    assert got is not None
    assert got.applied_at == applied
    assert got.status is ConflictStatus.RESOLVED


def test_an_automatically_decided_conflict_can_be_marked_applied(
    conflicts: ConflictStore,
) -> None:
    stored = conflicts.record(make_conflict(status=ConflictStatus.AUTO))
    assert stored.id is not None

    conflicts.mark_applied(stored.id, RESOLVED_AT)

    got = conflicts.get(stored.id)
    assert got is not None
    assert got.applied_at == RESOLVED_AT


def test_an_open_conflict_cannot_be_marked_applied(conflicts: ConflictStore) -> None:
    stored = conflicts.record(make_conflict())
    assert stored.id is not None

    with pytest.raises(ConflictStateError, match="is open: it cannot be marked applied"):
        conflicts.mark_applied(stored.id, RESOLVED_AT)
    assert conflicts.get(stored.id) == stored


def test_marking_an_unknown_conflict_applied_raises_lookup_error(
    conflicts: ConflictStore,
) -> None:
    with pytest.raises(MissingEntryError):
        conflicts.mark_applied(12345, RESOLVED_AT)


# -- organisations and concurrency ---------------------------------------------------------


def test_organisations_do_not_see_each_others_conflicts(backend: Backend) -> None:
    north, south = backend.conflicts("north"), backend.conflicts("south")
    north_first = north.record(make_conflict(1, "name"))
    # Ids need not be unique across organisations; the second one north records has an
    # id that south never hands out on any implementation.
    north_only = north.record(make_conflict(2, "name"))
    assert north_only.id is not None

    # The same field may be open in both: the one-open-conflict rule is per organisation.
    south_one = south.record(make_conflict(1, "name"))

    assert south.list() == [south_one]
    assert south_one.status is ConflictStatus.OPEN
    assert south.get(north_only.id) is None
    with pytest.raises(MissingEntryError):
        south.resolve(north_only.id, "x", resolved_by="jane", at=RESOLVED_AT)
    with pytest.raises(MissingEntryError):
        south.mark_applied(north_only.id, RESOLVED_AT)
    assert north.list() == [north_first, north_only]


def test_a_second_repository_on_the_same_store_sees_the_conflicts(backend: Backend) -> None:
    stored = backend.conflicts().record(make_conflict())

    assert backend.conflicts().list() == [stored]


def test_racing_records_of_one_field_leave_exactly_one_open_conflict(
    conflicts: ConflictStore,
) -> None:
    # Two workers meeting the same conflicting field at once: an upsert against the
    # one-open-per-field index, not select-then-insert (which would make two rows or fail).
    results, errors = run_together(6, lambda n: conflicts.record(make_conflict(crm=f"crm-{n}")))

    assert errors == []
    (only,) = conflicts.list()
    assert {result.id for result in results} == {only.id}


def test_contacts_with_lists_each_contact_once_by_status_and_application(
    conflicts: ConflictStore, backend: Backend
) -> None:
    conflicts.record(make_conflict(1, "name"))
    conflicts.record(make_conflict(1, "website"))
    decided = conflicts.record(make_conflict(2, "name"))
    applied = conflicts.record(make_conflict(3, "name"))
    for stored in (decided, applied):
        assert stored.id is not None
        conflicts.resolve(stored.id, "x", resolved_by="jane", at=RESOLVED_AT)
    assert applied.id is not None
    conflicts.mark_applied(applied.id, RESOLVED_AT)
    backend.conflicts("elsewhere").record(make_conflict(4, "name"))

    assert conflicts.contacts_with(ConflictStatus.OPEN) == {1}
    assert conflicts.contacts_with(ConflictStatus.RESOLVED) == {2, 3}
    assert conflicts.contacts_with(ConflictStatus.RESOLVED, unapplied=True) == {2}
