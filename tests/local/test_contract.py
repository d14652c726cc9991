"""The LocalPlatform contract, run against every implementation.

memory, files, and sql (document column and column mapping, each on SQLite and on
PostgreSQL): the in-memory twin must behave exactly like the real adapters, and the real
adapters like each other, so the engine can be tested against any of them.
"""

from datetime import UTC, datetime, timedelta

import pytest

from syncengine.domain.ports import LocalRecord, UnchangedRecord, nothing_unchanged
from syncengine.errors import LocalConflictError, LocalDataError
from tests.local.harness import MISSING, Harness, contact, tracked, view

A_WHILE_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def scan_records(harness: Harness) -> list[LocalRecord]:
    found = list(harness.platform.scan())
    assert all(isinstance(item, LocalRecord) for item in found), found
    return [item for item in found if isinstance(item, LocalRecord)]


def linked(harness: Harness, contact_id: int) -> LocalRecord:
    got = harness.platform.get(contact_id)
    assert got is not None
    return got


# -- reading ---------------------------------------------------------------------------


def test_an_empty_platform_scans_nothing(harness: Harness) -> None:
    assert list(harness.platform.scan()) == []


def test_scan_lists_linked_and_new_records(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_linked(1002, contact(1002, name="Grace Hopper", first="Grace"))
    key = harness.put_new("k1", contact(None, name="Alan Turing", first="Alan"))

    records = scan_records(harness)

    assert [r.key for r in records if r.contact_id is None] == [key]
    assert sorted(r.contact_id for r in records if r.contact_id is not None) == [1001, 1002]
    by_name = {view(r)["name"]: r for r in records}
    grace = contact(1002, name="Grace Hopper", first="Grace")
    assert view(by_name["Grace Hopper"]) == tracked(grace)
    assert view(by_name["Alan Turing"]) == tracked(contact(None, name="Alan Turing", first="Alan"))


def test_get_returns_the_linked_record(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))

    got = linked(harness, 1001)

    assert got.contact_id == 1001
    assert view(got) == tracked(contact(1001))


def test_get_of_a_contact_the_platform_does_not_hold_is_none(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_new("k1", contact(None))

    assert harness.platform.get(4040) is None


def test_modification_times_are_aware_utc(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_new("k1", contact(None))

    for record in scan_records(harness):
        assert record.modified_at.tzinfo is not None
        assert record.modified_at.utcoffset() == timedelta(0)


def test_scan_and_get_agree(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))

    (scanned,) = scan_records(harness)

    assert scanned == linked(harness, 1001)


def test_scan_changed_hands_out_what_the_caller_knows_unread(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_linked(1002, contact(1002, name="Grace Hopper", first="Grace"))
    key = harness.put_new("k1", contact(None, name="Alan Turing", first="Alan"))
    known = {r.contact_id: r for r in scan_records(harness)}
    asked: list[int] = []

    def unchanged(contact_id: int, modified_at: datetime) -> bool:
        asked.append(contact_id)
        return contact_id == 1001 and modified_at == known[1001].modified_at

    found = list(harness.platform.scan_changed(unchanged))

    assert sorted(asked) == [1001, 1002], "only linked records are asked about"
    (skipped,) = [item for item in found if isinstance(item, UnchangedRecord)]
    assert skipped == UnchangedRecord(known[1001].key, 1001, known[1001].modified_at)
    records = [item for item in found if isinstance(item, LocalRecord)]
    assert [r for r in records if r.contact_id] == [known[1002]]
    assert [r.key for r in records if r.contact_id is None] == [key]
    assert view(records[0]) == tracked(contact(1002, name="Grace Hopper", first="Grace"))


def test_scan_changed_reads_a_record_edited_since_whole(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    (before,) = scan_records(harness)

    harness.put_linked(1001, contact(1001, city="Berlin"))

    def unchanged(contact_id: int, modified_at: datetime) -> bool:
        return modified_at <= before.modified_at  # what a run that synced `before` asks

    (found,) = list(harness.platform.scan_changed(unchanged))
    assert isinstance(found, LocalRecord)
    assert view(found)["address.city"] == "Berlin"


def test_scan_changed_still_reports_a_malformed_record(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.corrupt(1001)

    def unchanged(contact_id: int, modified_at: datetime) -> bool:
        return False

    (found,) = list(harness.platform.scan_changed(unchanged))
    assert isinstance(found, LocalDataError)


def test_scan_changed_with_nothing_unchanged_is_scan(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_new("k1", contact(None, name="Alan Turing", first="Alan"))

    assert list(harness.platform.scan_changed(nothing_unchanged)) == list(harness.platform.scan())


def test_a_platform_edit_changes_the_modification_time(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    harness.put_linked(1001, contact(1001, city="Berlin"))

    after = linked(harness, 1001)
    assert after.modified_at != before.modified_at
    assert view(after)["address.city"] == "Berlin"


# -- saving ----------------------------------------------------------------------------


def test_save_round_trips_the_given_fields(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    saved = harness.platform.save(
        1001,
        {"name": "Ada King", "address": {"city": "Paris"}},
        expected_modified=before.modified_at,
    )

    expected = tracked(contact(1001, name="Ada King", city="Paris"))
    assert view(saved) == expected
    assert view(linked(harness, 1001)) == expected
    assert saved.modified_at != before.modified_at


def test_save_reaches_items_inside_arrays(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)
    change = {
        "contactIndividuals": [
            {
                "id": 10010,
                "isPrimary": True,
                "firstName": "Augusta",
                "contactMethods": [{"id": 100100, "type": "Home Email", "value": "aal@x.org"}],
            }
        ],
        "customFields": [{"name": "Shirt Size", "value": "L"}],
    }

    harness.platform.save(1001, change, expected_modified=before.modified_at)

    assert view(linked(harness, 1001)) == tracked(
        contact(1001, first="Augusta", email="aal@x.org", shirt="L")
    )


def test_save_leaves_fields_it_was_not_given_untouched(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    harness.platform.save(1001, {"name": "Ada King"}, expected_modified=before.modified_at)

    assert view(linked(harness, 1001)) == tracked(contact(1001, name="Ada King"))


def test_save_writes_a_null_it_is_given(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    harness.platform.save(
        1001,
        {"customFields": [{"name": "Shirt Size", "value": None}]},
        expected_modified=before.modified_at,
    )

    assert view(linked(harness, 1001))["customFields[name=Shirt Size].value"] is None


def test_save_returns_what_get_then_returns(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    saved = harness.platform.save(1001, {"name": "Ada King"}, expected_modified=before.modified_at)

    assert saved == linked(harness, 1001)


def test_saving_values_the_platform_already_has_changes_nothing(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    saved = harness.platform.save(
        1001, {"name": "Ada Lovelace"}, expected_modified=before.modified_at
    )

    # Same modification time: the next run must not take our no-op for a platform edit.
    assert saved.modified_at == before.modified_at
    assert linked(harness, 1001) == before


def test_save_refuses_when_the_record_changed_since_it_was_read(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    read = linked(harness, 1001)
    harness.put_linked(1001, contact(1001, city="Berlin"))  # the platform's own edit

    with pytest.raises(LocalConflictError):
        harness.platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    # Nothing lost: the platform's edit stands, our change was not applied.
    assert view(linked(harness, 1001)) == tracked(contact(1001, city="Berlin"))


def test_save_refuses_a_modification_time_already_superseded_by_a_save(
    harness: Harness,
) -> None:
    harness.put_linked(1001, contact(1001))
    read = linked(harness, 1001)
    harness.platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    with pytest.raises(LocalConflictError):
        harness.platform.save(1001, {"name": "Someone Else"}, expected_modified=read.modified_at)

    assert view(linked(harness, 1001))["name"] == "Ada King"


def test_save_refuses_a_record_deleted_on_the_platform(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    read = linked(harness, 1001)
    harness.remove(1001)

    with pytest.raises(LocalConflictError):
        harness.platform.save(1001, {"name": "Ada King"}, expected_modified=read.modified_at)

    assert harness.platform.get(1001) is None


def test_save_of_a_contact_new_to_the_platform_creates_it(harness: Harness) -> None:
    saved = harness.platform.save(2002, contact(2002), expected_modified=None)

    got = linked(harness, 2002)
    assert got == saved
    assert got.contact_id == 2002
    assert view(got) == tracked(contact(2002))
    assert [r.contact_id for r in scan_records(harness)] == [2002]


def test_creating_a_contact_the_platform_already_holds_is_refused(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    with pytest.raises(LocalConflictError):
        harness.platform.save(1001, contact(1001, name="Overwritten"), expected_modified=None)

    assert linked(harness, 1001) == before


def test_a_created_contact_can_be_saved_again(harness: Harness) -> None:
    created = harness.platform.save(2002, contact(2002), expected_modified=None)

    harness.platform.save(2002, {"name": "Ada King"}, expected_modified=created.modified_at)

    assert view(linked(harness, 2002))["name"] == "Ada King"


# -- linking ---------------------------------------------------------------------------


def test_link_gives_a_new_record_its_contact_id(harness: Harness) -> None:
    key = harness.put_new("k1", contact(None, name="Alan Turing"))
    (new,) = scan_records(harness)

    linked_now = harness.platform.link(key, 3003)

    assert linked_now.contact_id == 3003
    assert view(linked_now) == view(new)
    # Linking records where the contact went; it is not an edit of the contact.
    assert linked_now.modified_at == new.modified_at
    assert linked(harness, 3003) == linked_now
    assert [(r.contact_id, view(r)["name"]) for r in scan_records(harness)] == [
        (3003, "Alan Turing")
    ]


def test_a_linked_record_can_then_be_saved(harness: Harness) -> None:
    key = harness.put_new("k1", contact(None))
    done = harness.platform.link(key, 3003)

    harness.platform.save(3003, {"name": "Ada King"}, expected_modified=done.modified_at)

    assert view(linked(harness, 3003))["name"] == "Ada King"


def test_link_refuses_a_contact_id_another_record_has(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    key = harness.put_new("k1", contact(None, name="Alan Turing"))
    before = linked(harness, 1001)

    with pytest.raises(LocalConflictError):
        harness.platform.link(key, 1001)

    assert linked(harness, 1001) == before
    still_new = [r for r in scan_records(harness) if r.contact_id is None]
    assert [(r.key, view(r)["name"]) for r in still_new] == [(key, "Alan Turing")]


def test_link_of_a_key_the_platform_does_not_hold_is_refused(harness: Harness) -> None:
    harness.put_new("k1", contact(None))

    with pytest.raises(LocalConflictError):
        harness.platform.link("999999", 3003)

    assert harness.platform.get(3003) is None


def test_get_new_finds_a_new_record_until_it_is_linked(harness: Harness) -> None:
    key = harness.put_new("k1", contact(None, name="Alan Turing"))

    found = harness.platform.get_new(key)

    assert found is not None and found.contact_id is None and found.key == key
    assert view(found)["name"] == "Alan Turing"
    harness.platform.link(key, 3003)
    assert harness.platform.get_new(key) is None, "linked by another run meanwhile"
    assert harness.platform.get_new("no-such-key") is None


def test_location_names_where_a_record_lives(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    key = harness.put_new("k1", contact(None))
    for where in (harness.platform.location("1001"), harness.platform.location(key)):
        assert isinstance(where, str) and where


# -- relinking (CRM+ merged the contact into another) ----------------------------------


def test_relink_with_the_survivors_record_writes_it_in_the_same_step(
    harness: Harness,
) -> None:
    harness.put_linked(1001, contact(1001, name="Merged Away"))
    before = linked(harness, 1001)
    survivor = contact(2002, name="The Survivor", city="Seattle")

    moved = harness.platform.relink(1001, 2002, survivor)

    assert moved.contact_id == 2002
    assert view(moved)["name"] == "The Survivor"
    assert view(moved)["address.city"] == "Seattle"
    assert moved.modified_at > before.modified_at, "the content changed"
    assert linked(harness, 2002) == moved
    assert harness.platform.get(1001) is None


def test_relink_refuses_a_record_naming_another_contact(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    with pytest.raises(ValueError):
        harness.platform.relink(1001, 2002, contact(3003))
    assert harness.platform.get(1001) is not None


def test_relink_moves_a_record_to_the_surviving_contact(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_linked(1003, contact(1003, name="Grace Hopper"))
    before = linked(harness, 1001)

    moved = harness.platform.relink(1001, 2002)

    assert moved.contact_id == 2002
    assert view(moved) == view(before)
    if moved.leaves is None:
        assert moved.record["id"] == 2002  # the document's own id follows the link
    assert moved.modified_at >= before.modified_at  # it may move, never backwards
    assert harness.platform.get(1001) is None
    assert linked(harness, 2002) == moved
    assert sorted((r.contact_id, view(r)["name"]) for r in scan_records(harness)) == [
        (1003, "Grace Hopper"),
        (2002, "Ada Lovelace"),
    ]


def test_relink_of_a_record_without_an_id_keeps_its_modification_time(
    harness: Harness,
) -> None:
    record = contact(1001)
    del record["id"]
    harness.put_linked(1001, record)
    before = linked(harness, 1001)

    moved = harness.platform.relink(1001, 2002)

    # Only the link moved: not an edit of the contact.
    assert moved.modified_at == before.modified_at
    assert "id" not in moved.record
    assert view(moved) == view(before)
    assert linked(harness, 2002) == moved


def test_a_relinked_record_can_then_be_saved(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    moved = harness.platform.relink(1001, 2002)

    harness.platform.save(
        2002, {"id": 2002, "name": "Ada King"}, expected_modified=moved.modified_at
    )

    assert view(linked(harness, 2002)) == tracked(contact(2002, name="Ada King"))


def test_relink_frees_the_merged_away_contact_id(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.platform.relink(1001, 2002)
    key = harness.put_new("k1", contact(None, name="Alan Turing"))

    harness.platform.link(key, 1001)

    assert view(linked(harness, 1001))["name"] == "Alan Turing"
    assert view(linked(harness, 2002))["name"] == "Ada Lovelace"


def test_a_relinked_record_can_be_relinked_again(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.platform.relink(1001, 2002)

    moved = harness.platform.relink(2002, 3003)

    assert moved.contact_id == 3003
    assert [r.contact_id for r in scan_records(harness)] == [3003]
    assert view(moved) == tracked(contact(3003))


def test_relink_refuses_a_survivor_the_platform_already_holds(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_linked(2002, contact(2002, name="Grace Hopper"))
    merged_away, survivor = linked(harness, 1001), linked(harness, 2002)

    with pytest.raises(LocalConflictError):
        harness.platform.relink(1001, 2002)

    # Nothing moved, nothing overwritten: both records stay as they were.
    assert linked(harness, 1001) == merged_away
    assert linked(harness, 2002) == survivor


def test_relink_of_a_contact_the_platform_does_not_hold_is_refused(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    with pytest.raises(LocalConflictError):
        harness.platform.relink(4040, 2002)

    assert harness.platform.get(2002) is None
    assert linked(harness, 1001) == before


def test_relink_of_a_record_deleted_on_the_platform_is_refused(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.remove(1001)

    with pytest.raises(LocalConflictError):
        harness.platform.relink(1001, 2002)

    assert harness.platform.get(2002) is None
    assert list(harness.platform.scan()) == []


def test_relink_of_a_contact_into_itself_is_a_programming_error(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    before = linked(harness, 1001)

    with pytest.raises(ValueError):
        harness.platform.relink(1001, 1001)

    assert linked(harness, 1001) == before


# -- malformed records -----------------------------------------------------------------


def test_a_malformed_record_is_reported_and_skipped_by_scan(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    harness.put_linked(1002, contact(1002))
    harness.corrupt(1002)

    found = list(harness.platform.scan())

    errors = [item for item in found if isinstance(item, LocalDataError)]
    records = [item for item in found if isinstance(item, LocalRecord)]
    assert [r.contact_id for r in records] == [1001]
    assert len(errors) == 1
    assert errors[0].where and errors[0].problem


def test_get_of_a_malformed_record_raises_local_data_error(harness: Harness) -> None:
    harness.put_linked(1002, contact(1002))
    harness.corrupt(1002)

    with pytest.raises(LocalDataError):
        harness.platform.get(1002)


def test_save_never_overwrites_a_malformed_record(harness: Harness) -> None:
    harness.put_linked(1002, contact(1002))
    read = linked(harness, 1002)
    harness.corrupt(1002)
    stored = harness.raw(1002)

    with pytest.raises(LocalDataError):
        harness.platform.save(1002, {"name": "Ada King"}, expected_modified=read.modified_at)
    with pytest.raises(LocalDataError):
        harness.platform.save(1002, contact(1002), expected_modified=None)
    with pytest.raises(LocalDataError):
        harness.platform.save(1002, {"name": "Ada King"}, expected_modified=A_WHILE_AGO)

    assert harness.raw(1002) == stored


def test_relink_never_touches_a_malformed_record(harness: Harness) -> None:
    harness.put_linked(1002, contact(1002))
    harness.corrupt(1002)
    stored = harness.raw(1002)

    with pytest.raises(LocalDataError):
        harness.platform.relink(1002, 2002)

    assert harness.raw(1002) == stored
    assert harness.platform.get(2002) is None


def test_returned_records_are_copies(harness: Harness) -> None:
    harness.put_linked(1001, contact(1001))
    got = linked(harness, 1001)

    got.record.clear()
    if got.leaves is not None:
        got.leaves.clear()  # type: ignore[attr-defined]  # a dict at runtime

    assert view(linked(harness, 1001)) == tracked(contact(1001))


def test_missing_marker_never_appears_for_stored_paths(harness: Harness) -> None:
    # Guards the suite itself: every harness stores every TRACKED path.
    harness.put_linked(1001, contact(1001))

    assert MISSING not in view(linked(harness, 1001)).values()
