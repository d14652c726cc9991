"""The Journal contract, for every implementation (memory, SQLite, PostgreSQL)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from syncengine.domain.ports import Outcome, PlatformWrite
from syncengine.store import MissingEntryError
from tests.store.conftest import (
    START,
    Backend,
    ListingJournal,
    StepClock,
    make_create,
    make_journal_entry,
)


def test_opened_entry_is_pending_with_what_was_meant(
    journal: ListingJournal, clock: StepClock
) -> None:
    entry_id = journal.open(make_journal_entry())

    (pending,) = journal.pending()

    expected = make_journal_entry(id=entry_id, started_at=clock.now)
    assert pending == expected
    assert pending.outcome is Outcome.PENDING
    assert pending.finished_at is None


def test_open_returns_a_new_increasing_id_each_time(journal: ListingJournal) -> None:
    ids = [journal.open(make_journal_entry()) for _ in range(3)]

    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_given_started_at_is_kept_in_utc(journal: ListingJournal) -> None:
    started = datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))

    entry_id = journal.open(make_journal_entry(started_at=started))

    stored = journal.get(entry_id)
    assert stored is not None
    assert stored.started_at == datetime(2024, 5, 1, 14, 30, tzinfo=UTC)
    assert stored.started_at.utcoffset() == timedelta(0)


def test_closed_entry_is_no_longer_pending_and_shows_how_it_ended(
    journal: ListingJournal, clock: StepClock
) -> None:
    entry_id = journal.open(make_journal_entry())

    journal.close(entry_id, Outcome.OK, response_after={"name": "Ada Lovelace"})

    assert journal.pending() == []
    closed = journal.get(entry_id)
    assert closed is not None
    assert closed.outcome is Outcome.OK
    assert closed.finished_at == clock.now
    assert closed.response_after == {"name": "Ada Lovelace"}


def test_close_keeps_what_it_is_not_given_and_never_clears_a_concurrency_flag(
    journal: ListingJournal,
) -> None:
    entry_id = journal.open(
        make_journal_entry(
            error="first",
            note="opened",
            concurrent_write_suspected=True,
            response_after={"kept": 1},
        )
    )

    journal.close(entry_id, Outcome.UNKNOWN)

    closed = journal.get(entry_id)
    assert closed is not None
    assert (closed.error, closed.note) == ("first", "opened")
    assert closed.concurrent_write_suspected is True
    assert closed.response_after == {"kept": 1}


def test_close_records_error_note_and_suspected_concurrent_write(
    journal: ListingJournal,
) -> None:
    entry_id = journal.open(make_journal_entry())

    journal.close(
        entry_id,
        Outcome.MISMATCH,
        error="name not saved",
        note="retry later",
        concurrent_write_suspected=True,
    )

    closed = journal.get(entry_id)
    assert closed is not None
    assert (closed.outcome, closed.error, closed.note) == (
        Outcome.MISMATCH,
        "name not saved",
        "retry later",
    )
    assert closed.concurrent_write_suspected is True


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_can_be_stored(journal: ListingJournal, outcome: Outcome) -> None:
    # Guards the database's CHECK constraint against an Outcome added to the domain
    # without a migration.
    entry_id = journal.open(make_journal_entry(outcome=outcome))

    stored = journal.get(entry_id)

    assert stored is not None
    assert stored.outcome is outcome


def test_closing_as_pending_is_refused(journal: ListingJournal) -> None:
    entry_id = journal.open(make_journal_entry())

    with pytest.raises(ValueError, match="pending"):
        journal.close(entry_id, Outcome.PENDING)
    assert [entry.id for entry in journal.pending()] == [entry_id]


def test_closing_an_unknown_entry_raises_lookup_error(journal: ListingJournal) -> None:
    with pytest.raises(MissingEntryError) as caught:
        journal.close(12345, Outcome.OK)
    assert isinstance(caught.value, LookupError)


def test_pending_lists_only_unclosed_entries_oldest_first(journal: ListingJournal) -> None:
    first = journal.open(make_journal_entry(1))
    closed = journal.open(make_journal_entry(2))
    third = journal.open(make_journal_entry(3))
    journal.close(closed, Outcome.FAILED, error="HTTP 422")

    assert [entry.id for entry in journal.pending()] == [first, third]


def test_for_contact_lists_that_contacts_attempts_oldest_first(journal: ListingJournal) -> None:
    first = journal.open(make_journal_entry(7))
    journal.open(make_journal_entry(8))
    second = journal.open(make_journal_entry(7, method="POST", endpoint="/api/Contact/7/x"))

    attempts = journal.for_contact(7)

    assert [entry.id for entry in attempts] == [first, second]
    assert [entry.method for entry in attempts] == ["PUT", "POST"]
    assert journal.for_contact(404) == []


def test_recent_lists_newest_first_up_to_the_limit(journal: ListingJournal) -> None:
    ids = [journal.open(make_journal_entry(n)) for n in range(5)]

    assert [entry.id for entry in journal.recent(3)] == ids[::-1][:3]
    assert [entry.id for entry in journal.recent()] == ids[::-1]
    assert journal.recent(0) == []


def test_nested_and_null_values_in_before_and_after_round_trip(journal: ListingJournal) -> None:
    before = {"address.street": None, "tags": ["a", "b"], "custom": {"n": 1.5, "ok": False}}
    after = {"address.street": "Main St 1 — №2", "tags": [], "custom": {"n": 2, "ok": True}}

    entry_id = journal.open(make_journal_entry(fields=list(before), before=before, after=after))

    stored = journal.get(entry_id)
    assert stored is not None
    assert (stored.fields, stored.before, stored.after) == (list(before), before, after)


def test_changing_an_entry_after_open_does_not_change_the_journal(
    journal: ListingJournal,
) -> None:
    entry = make_journal_entry()
    entry_id = journal.open(entry)
    entry.fields.append("later")
    got = journal.get(entry_id)
    assert got is not None
    got.fields.append("mutated")

    again = journal.get(entry_id)

    assert again is not None
    assert again.fields == make_journal_entry().fields


def test_organisations_keep_separate_journals(backend: Backend) -> None:
    north, south = backend.journal("north"), backend.journal("south")
    north.open(make_journal_entry(1))
    north_only = north.open(make_journal_entry(2))
    south_id = south.open(make_journal_entry(1))

    assert [entry.contact_id for entry in north.pending()] == [1, 2]
    assert [entry.id for entry in south.pending()] == [south_id]
    assert [entry.id for entry in south.for_contact(1)] == [south_id]
    assert south.for_contact(2) == []
    assert [entry.id for entry in south.recent()] == [south_id]
    # Ids need not be unique across organisations; the second one north opened has an id
    # that south never handed out on any implementation.
    assert south.get(north_only) is None
    with pytest.raises(MissingEntryError):
        south.close(north_only, Outcome.OK)


# -- creates: no contact id yet, found again by the platform's key -------------------------


def test_a_create_is_journaled_without_a_contact_id_and_with_the_platform_key(
    journal: ListingJournal, clock: StepClock
) -> None:
    entry_id = journal.open(make_create())

    stored = journal.get(entry_id)

    assert stored == make_create(id=entry_id, started_at=clock.now)
    assert (stored.contact_id, stored.local_key) == (None, "member-42")


def test_an_update_keeps_its_platform_key_too(journal: ListingJournal) -> None:
    entry_id = journal.open(make_journal_entry(local_key="1001"))

    stored = journal.get(entry_id)

    assert stored is not None
    assert (stored.contact_id, stored.local_key) == (1001, "1001")


def test_closing_a_create_with_its_new_contact_id_lists_it_for_that_contact(
    journal: ListingJournal,
) -> None:
    entry_id = journal.open(make_create())

    journal.close(entry_id, Outcome.OK, response_after={"id": 5005}, contact_id=5005)

    assert [entry.id for entry in journal.for_contact(5005)] == [entry_id]
    closed = journal.get(entry_id)
    assert closed is not None
    assert (closed.contact_id, closed.local_key) == (5005, "member-42")


def test_closing_without_a_contact_id_keeps_the_one_opened_with(journal: ListingJournal) -> None:
    entry_id = journal.open(make_journal_entry(7))

    journal.close(entry_id, Outcome.OK)

    assert [entry.id for entry in journal.for_contact(7)] == [entry_id]


def test_unresolved_lists_pending_and_unknown_entries_oldest_first(
    journal: ListingJournal,
) -> None:
    pending = journal.open(make_journal_entry(1))
    unknown = journal.open(make_create())
    journal.close(unknown, Outcome.UNKNOWN, error="timeout")
    for outcome in (Outcome.OK, Outcome.FAILED, Outcome.MISMATCH, Outcome.DRY_RUN):
        journal.close(journal.open(make_journal_entry(2)), outcome)
    later_pending = journal.open(make_create("member-43"))

    assert [entry.id for entry in journal.unresolved()] == [pending, unknown, later_pending]
    # pending() stays what it was: only entries never closed.
    assert [entry.id for entry in journal.pending()] == [pending, later_pending]


def test_pending_for_key_finds_the_unfinished_creates_of_that_key_only(
    journal: ListingJournal,
) -> None:
    crashed = journal.open(make_create("member-42"))
    timed_out = journal.open(make_create("member-42"))
    journal.close(timed_out, Outcome.UNKNOWN, error="read timeout")
    journal.close(journal.open(make_create("member-42")), Outcome.FAILED, error="HTTP 422")
    journal.open(make_create("member-43"))
    journal.open(make_journal_entry(42))  # no key at all

    found = journal.pending_for_key("member-42")

    assert [entry.id for entry in found] == [crashed, timed_out]
    assert [entry.outcome for entry in found] == [Outcome.PENDING, Outcome.UNKNOWN]
    assert journal.pending_for_key("member-404") == []


def test_a_create_that_succeeded_is_no_longer_pending_for_its_key(
    journal: ListingJournal,
) -> None:
    entry_id = journal.open(make_create())

    journal.close(entry_id, Outcome.OK, contact_id=5005)

    assert journal.pending_for_key("member-42") == []
    assert journal.unresolved() == []


def test_organisations_do_not_share_pending_creates(backend: Backend) -> None:
    north, south = backend.journal("north"), backend.journal("south")
    north.open(make_create("member-42"))

    assert south.pending_for_key("member-42") == []
    assert south.unresolved() == []
    assert len(north.pending_for_key("member-42")) == 1


# -- outside writes: carried to the platform by the next sync -------------------------------


def test_an_outside_write_applied_by_crm_waits_to_be_carried(journal: ListingJournal) -> None:
    outside = journal.open(make_journal_entry(7, outside=True))
    journal.close(outside, Outcome.OK)
    inside = journal.open(make_journal_entry(7))
    journal.close(inside, Outcome.OK)
    refused = journal.open(make_journal_entry(7, outside=True))
    journal.close(refused, Outcome.FAILED)
    in_flight = journal.open(make_journal_entry(8, outside=True))

    assert [e.id for e in journal.uncarried()] == [outside]
    assert [e.id for e in journal.uncarried(7)] == [outside]
    assert journal.uncarried(8) == []
    assert in_flight  # settled by recovery first, then carried
    (entry,) = journal.uncarried(7)
    assert entry.outside and entry.carried_at is None


def test_a_mismatched_outside_write_is_carried_too(journal: ListingJournal) -> None:
    # CRM+ applied it, only not as meant: the platform must learn what CRM+ holds.
    entry = journal.open(make_journal_entry(7, outside=True))
    journal.close(entry, Outcome.MISMATCH)
    assert [e.id for e in journal.uncarried(7)] == [entry]


def test_marking_carried_stamps_the_entries_and_they_stop_waiting(
    journal: ListingJournal, clock: StepClock
) -> None:
    first = journal.open(make_journal_entry(7, outside=True))
    second = journal.open(make_journal_entry(7, outside=True))
    for entry_id in (first, second):
        journal.close(entry_id, Outcome.OK)
    at = clock()
    journal.mark_carried([first], at)
    assert [e.id for e in journal.uncarried(7)] == [second]
    stored = journal.get(first)
    assert stored is not None and stored.carried_at == at
    journal.mark_carried([], at)  # nothing to mark: nothing happens


def test_applied_since_lists_the_syncs_own_applied_writes_after_a_moment(
    journal: ListingJournal,
) -> None:
    """What a mirror stored at ``since`` cannot know yet: the sync's writes CRM+ applied
    after it (a run that died between its PUT and its mirror update)."""
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    before = journal.open(make_journal_entry(7, started_at=moment - timedelta(seconds=1)))
    applied = journal.open(make_journal_entry(7, started_at=moment + timedelta(seconds=1)))
    mismatch = journal.open(make_journal_entry(7, started_at=moment + timedelta(seconds=2)))
    failed = journal.open(make_journal_entry(7, started_at=moment + timedelta(seconds=3)))
    outside = journal.open(
        make_journal_entry(7, started_at=moment + timedelta(seconds=4), outside=True)
    )
    other = journal.open(make_journal_entry(8, started_at=moment + timedelta(seconds=5)))
    pending = journal.open(make_journal_entry(7, started_at=moment + timedelta(seconds=6)))
    for entry_id in (before, applied, outside, other):
        journal.close(entry_id, Outcome.OK)
    journal.close(mismatch, Outcome.MISMATCH)
    journal.close(failed, Outcome.FAILED)
    assert pending
    assert [e.id for e in journal.applied_since(7, moment)] == [applied, mismatch]
    assert journal.applied_since(7, moment + timedelta(seconds=10)) == []
    # Any zone: the same moment written as +02:00.
    shifted = moment.astimezone(timezone(timedelta(hours=2)))
    assert [e.id for e in journal.applied_since(7, shifted)] == [applied, mismatch]
    # The same writes, summed up per contact for a whole run's plan: the latest start.
    assert journal.last_applied() == {
        7: moment + timedelta(seconds=2),
        8: moment + timedelta(seconds=5),
    }


def test_a_platform_write_stays_open_until_closed_and_keeps_its_values(
    journal: ListingJournal, clock: StepClock
) -> None:
    item = {"id": 7, "type": "Home Email", "value": "a@example.org"}
    values = {"website": ("old", "new"), "contactIndividuals[id=7]": (None, item)}
    first = journal.open_platform_write(PlatformWrite(contact_id=4821, values=values))
    second = journal.open_platform_write(
        PlatformWrite(contact_id=4821, values={"name": ("A", "B")}, started_at=START)
    )
    journal.open_platform_write(PlatformWrite(contact_id=9, values={"name": ("C", "D")}))

    listed = journal.platform_writes(4821)

    assert [w.id for w in listed] == [first, second]
    assert [w.contact_id for w in journal.platform_writes()] == [4821, 4821, 9], "all"
    assert listed[0].values == values
    stamped = listed[0].started_at
    assert stamped is not None and START < stamped <= clock.now, "stamped by the clock"
    assert listed[1].started_at == START
    listed[0].values["contactIndividuals[id=7]"][1]["value"] = "changed"  # type: ignore[index]
    assert journal.platform_writes(4821)[0].values == values, "a copy, never the stored one"

    journal.close_platform_writes(4821, through=first)
    assert [w.id for w in journal.platform_writes(4821)] == [second]
    journal.close_platform_writes(4821, through=second)
    assert journal.platform_writes(4821) == []
    assert len(journal.platform_writes(9)) == 1, "another contact's writes stay open"


def test_organisations_do_not_share_platform_writes(backend: Backend) -> None:
    north, south = backend.journal("north"), backend.journal("south")
    north.open_platform_write(PlatformWrite(contact_id=1, values={"name": ("a", "b")}))

    assert south.platform_writes(1) == []
    south.close_platform_writes(1, through=10**6)
    assert len(north.platform_writes(1)) == 1
