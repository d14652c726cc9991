"""``MergeMemo``: a merge is handed out again only for the very same inputs, and once.

Real ``merge3`` on real-shaped records; what is checked is which calls get the kept
result (the same object) and which are merged anew."""

from __future__ import annotations

import copy
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from syncengine.domain.policy import MergePolicy
from syncengine.domain.ports import Record
from syncengine.engine.merge_memo import MergeMemo

WHEN = datetime(2024, 5, 1, 12, tzinfo=UTC)


def household() -> Record:
    return {
        "id": 7,
        "contactType": "Household",
        "name": "The Lee Household",
        "informalName": "The Lees",
        "description": "Met at the gala",
        "modifiedDateTimeUtc": "2024-04-01T10:00:00",
        "contactIndividuals": [{"id": 70, "firstName": "Ana", "lastName": "Lee", "age": 41}],
    }


def versions() -> tuple[Record, Record, Record]:
    """A base, a platform edit and a CRM+ edit of other fields: a merge that does work."""
    base = household()
    platform = household()
    platform["informalName"] = "Ana and family"
    crm = household()
    crm["description"] = "Gave in May"
    crm["modifiedDateTimeUtc"] = "2024-05-02T10:00:00"
    return base, platform, crm


def merge(memo: MergeMemo, contact_id: int = 7, **changed: Any) -> Any:
    base, platform, crm = changed.pop("records", versions())
    return memo.merge(
        contact_id,
        base,
        platform,
        crm,
        platform_modified=changed.pop("platform_modified", WHEN),
        open_conflicts=changed.pop("open_conflicts", ()),
    )


def test_the_same_inputs_get_the_kept_merge_once() -> None:
    memo = MergeMemo(MergePolicy())
    first = merge(memo)
    assert first.to_crm and first.to_platform  # a merge that did work
    second = merge(memo)
    assert second is first and memo.reused == 1
    third = merge(memo)
    assert third is not first and third == first  # merged anew: each is shared once
    assert memo.reused == 1


def _crm_value(records: tuple[Record, Record, Record], value: Any) -> tuple[Record, ...]:
    base, platform, crm = copy.deepcopy(records)
    crm["contactIndividuals"][0]["age"] = value
    return base, platform, crm


def _reordered(records: tuple[Record, Record, Record]) -> tuple[Record, ...]:
    base, platform, crm = copy.deepcopy(records)
    return base, platform, dict(reversed(list(crm.items())))


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"records": _crm_value(versions(), 42)}, id="a CRM+ value"),
        pytest.param({"records": _crm_value(versions(), 41.0)}, id="41 read as 41.0"),
        pytest.param({"records": _crm_value(versions(), True)}, id="a value of another type"),
        pytest.param({"records": _reordered(versions())}, id="keys in another order"),
        pytest.param({"platform_modified": datetime(2024, 5, 1, 13, tzinfo=UTC)}, id="time"),
        pytest.param({"open_conflicts": ("informalName",)}, id="a conflict opened"),
    ],
)
def test_any_difference_in_the_inputs_is_merged_anew(other: dict[str, Any]) -> None:
    memo = MergeMemo(MergePolicy())
    first = merge(memo)
    again = merge(memo, **other)
    assert again is not first and memo.reused == 0


def test_another_contact_never_gets_a_kept_merge() -> None:
    memo = MergeMemo(MergePolicy())
    first = merge(memo, contact_id=7)
    assert merge(memo, contact_id=8) is not first and memo.reused == 0


def test_a_record_changed_in_place_after_its_merge_cannot_bring_the_old_merge_back() -> None:
    """The memo keeps a digest, not the records: the stale merge is never handed out for
    the record's new content."""
    memo = MergeMemo(MergePolicy())
    records = versions()
    first = merge(memo, records=records)
    records[2]["description"] = "Changed after the merge"
    again = merge(memo, records=records)
    assert again is not first and memo.reused == 0
    assert [c.new for c in again.to_platform] == ["Changed after the merge"]


def test_sides_that_agree_are_not_kept() -> None:
    memo = MergeMemo(MergePolicy())
    base = household()
    merge(memo, records=(base, household(), household()))
    merge(memo, records=(base, household(), household()))
    assert memo.reused == 0


def test_what_is_not_json_is_merged_each_time() -> None:
    memo = MergeMemo(MergePolicy())
    records = _crm_value(versions(), float("nan"))
    first = merge(memo, records=records)
    assert merge(memo, records=records) is not first and memo.reused == 0


def test_the_oldest_contacts_are_dropped_beyond_the_capacity() -> None:
    memo = MergeMemo(MergePolicy(), capacity=2)
    kept = {contact_id: merge(memo, contact_id=contact_id) for contact_id in (1, 2, 3)}
    assert merge(memo, contact_id=1) is not kept[1]  # dropped when 3 came
    assert merge(memo, contact_id=3) is kept[3]
    assert memo.reused == 1


def test_contacts_merged_from_several_threads_each_get_their_own_merge() -> None:
    memo = MergeMemo(MergePolicy())
    results: dict[int, list[Any]] = {}

    def twice(contact_id: int) -> None:
        results[contact_id] = [merge(memo, contact_id=contact_id) for _ in range(2)]

    threads = [threading.Thread(target=twice, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(first is second for first, second in results.values())
    assert len({id(first) for first, _ in results.values()}) == 8
    assert memo.reused == 8


def test_a_merge_not_to_be_kept_is_still_served_from_one_that_was() -> None:
    memo = MergeMemo(MergePolicy())
    first = merge(memo)
    assert (
        memo.merge(7, *versions(), platform_modified=WHEN, open_conflicts=(), keep=False) is first
    )
    assert len(memo) == 0
    memo.merge(7, *versions(), platform_modified=WHEN, open_conflicts=(), keep=False)
    assert len(memo) == 0


def test_forget_and_clear_drop_what_is_kept() -> None:
    memo = MergeMemo(MergePolicy())
    kept = {contact_id: merge(memo, contact_id=contact_id) for contact_id in (1, 2, 3)}
    memo.forget(2)
    assert len(memo) == 2 and merge(memo, contact_id=2) is not kept[2]
    memo.clear()
    assert len(memo) == 0 and merge(memo, contact_id=1) is not kept[1]
