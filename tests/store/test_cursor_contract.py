"""The CursorStore contract, for every implementation (memory, SQLite, PostgreSQL)."""

from datetime import UTC, datetime

from syncengine.domain.ports import Cursor, CursorStore
from tests.store.conftest import Backend, StepClock

HIGH_WATER = "2024-04-30T10:15:00.1234567"


def test_unknown_cursor_is_absent(cursors: CursorStore) -> None:
    assert cursors.get("crm-contacts") is None


def test_put_cursor_comes_back_with_the_stores_update_time(
    cursors: CursorStore, clock: StepClock
) -> None:
    cursors.put(Cursor("crm-contacts", HIGH_WATER, [2**40, 7, 12]))

    assert cursors.get("crm-contacts") == Cursor(
        "crm-contacts", HIGH_WATER, [2**40, 7, 12], updated_at=clock.now
    )


def test_the_high_water_mark_is_kept_verbatim(cursors: CursorStore) -> None:
    # It goes back into the CRM's filter: no parsing, no rounding of the 7th digit.
    cursors.put(Cursor("crm-contacts", "2024-04-30T10:15:00.1234567+00:00", []))

    got = cursors.get("crm-contacts")

    assert got is not None
    assert got.high_water == "2024-04-30T10:15:00.1234567+00:00"


def test_a_cursor_without_a_high_water_mark_yet_can_be_stored(cursors: CursorStore) -> None:
    cursors.put(Cursor("crm-contacts", None))

    got = cursors.get("crm-contacts")

    assert got is not None
    assert (got.high_water, got.ids_at_high_water) == (None, [])


def test_put_again_replaces_the_mark_and_the_ids_seen_at_it(
    cursors: CursorStore, clock: StepClock
) -> None:
    cursors.put(Cursor("crm-contacts", HIGH_WATER, [1, 2]))
    first_update = clock.now

    cursors.put(Cursor("crm-contacts", "2024-05-01T00:00:00", [3]))

    got = cursors.get("crm-contacts")
    assert got is not None
    assert (got.high_water, got.ids_at_high_water) == ("2024-05-01T00:00:00", [3])
    assert got.updated_at == clock.now
    assert got.updated_at != first_update


def test_update_time_given_in_the_cursor_is_replaced_by_the_stores(
    cursors: CursorStore, clock: StepClock
) -> None:
    cursors.put(Cursor("c", HIGH_WATER, updated_at=datetime(2001, 1, 1, tzinfo=UTC)))

    got = cursors.get("c")

    assert got is not None
    assert got.updated_at == clock.now


def test_changing_the_ids_after_put_or_get_does_not_change_the_cursor(
    cursors: CursorStore,
) -> None:
    given = Cursor("c", HIGH_WATER, [1])
    cursors.put(given)
    given.ids_at_high_water.append(2)
    got = cursors.get("c")
    assert got is not None
    got.ids_at_high_water.append(3)

    again = cursors.get("c")

    assert again is not None
    assert again.ids_at_high_water == [1]


def test_cursors_are_kept_apart_by_name(cursors: CursorStore) -> None:
    cursors.put(Cursor("crm-contacts", HIGH_WATER, [1]))
    cursors.put(Cursor("platform", "2024-01-01", [2]))

    crm, platform = cursors.get("crm-contacts"), cursors.get("platform")

    assert crm is not None
    assert platform is not None
    assert (crm.high_water, crm.ids_at_high_water) == (HIGH_WATER, [1])
    assert (platform.high_water, platform.ids_at_high_water) == ("2024-01-01", [2])


def test_organisations_keep_separate_cursors(backend: Backend) -> None:
    north, south = backend.cursors("north"), backend.cursors("south")
    north.put(Cursor("crm-contacts", HIGH_WATER, [1]))

    assert south.get("crm-contacts") is None
    south.put(Cursor("crm-contacts", "2020-01-01", []))
    north_cursor = north.get("crm-contacts")
    assert north_cursor is not None
    assert north_cursor.high_water == HIGH_WATER
