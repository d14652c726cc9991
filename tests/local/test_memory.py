"""The in-memory twin beyond the contract: its clock and the platform user's side."""

from datetime import UTC, datetime, timedelta

import pytest

from syncengine.errors import LocalConflictError, LocalDataError
from syncengine.local import ManualClock, MemoryPlatform

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_modification_times_come_from_the_settable_clock() -> None:
    clock = ManualClock(T0)
    platform = MemoryPlatform(clock=clock)

    first = platform.put_linked(1001, {"name": "Ada"})
    clock.advance(timedelta(minutes=5))
    second = platform.put_linked(1002, {"name": "Grace"})
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    saved = platform.save(1001, {"name": "Ada King"}, expected_modified=first.modified_at)

    assert first.modified_at == T0
    assert second.modified_at == T0 + timedelta(minutes=5)
    assert saved.modified_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_a_clock_standing_still_still_gives_each_write_a_later_time() -> None:
    platform = MemoryPlatform(clock=ManualClock(T0))
    first = platform.put_linked(1001, {"name": "Ada"})

    second = platform.save(1001, {"name": "Ada King"}, expected_modified=first.modified_at)

    assert second.modified_at == T0 + timedelta(microseconds=1)
    with pytest.raises(LocalConflictError):
        platform.save(1001, {"name": "Other"}, expected_modified=first.modified_at)


def test_the_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2024, 5, 1))


def test_corrupt_and_remove_act_on_linked_and_new_records() -> None:
    platform = MemoryPlatform()
    platform.put_linked(1001, {"name": "Ada"})
    platform.put_new("k1", {"name": "Alan"})

    platform.corrupt("k1", "bad on purpose")
    platform.remove("1001")

    (error,) = list(platform.scan())
    assert isinstance(error, LocalDataError)
    assert (error.where, error.problem) == ("memory record 'k1'", "bad on purpose")
    with pytest.raises(LocalDataError):
        platform.link("k1", 3003)


def test_raw_shows_what_is_stored_even_when_malformed() -> None:
    platform = MemoryPlatform(clock=ManualClock(T0))
    platform.put_linked(1001, {"name": "Ada"})
    platform.corrupt("1001", "bad")

    assert platform.raw("1001") == ({"name": "Ada"}, T0, "bad")


def test_records_given_to_the_platform_are_copied() -> None:
    platform = MemoryPlatform()
    record = {"name": "Ada", "tags": ["a"]}
    platform.put_linked(1001, record)

    record["tags"].append("b")

    got = platform.get(1001)
    assert got is not None and got.record == {"name": "Ada", "tags": ["a"]}
