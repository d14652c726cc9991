"""``engine.known_contacts``: the run's arrays answer as the dicts and sets they replace."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.engine.known_contacts import NEVER, SortedIds, micros

ids = st.lists(st.integers(1, 2**53), unique=True).map(sorted)


@given(ids, st.lists(st.integers(0, 2**53)), st.lists(st.integers(0, 2**53)))
def test_sorted_ids_answer_as_a_dict_and_a_set_would(
    known: list[int], asked: list[int], marked: list[int]
) -> None:
    """In any order of lookups (a scan need not meet contacts in id order)."""
    values = {contact_id: contact_id * 7 % 1000 for contact_id in known}
    index = SortedIds(values.items())
    on_platform: set[int] = set()

    for contact_id in [*asked, *known[::-1], *marked]:
        assert (contact_id in index) == (contact_id in values)
        assert index.value(contact_id, NEVER) == values.get(contact_id, NEVER)
    for contact_id in [*marked, *known[::3]]:
        newly = index.mark(contact_id)
        assert newly == (None if contact_id not in values else contact_id not in on_platform)
        if contact_id in values:
            on_platform.add(contact_id)
        assert index.marked(contact_id) == (contact_id in on_platform)

    assert list(index) == known
    assert len(index) == len(known)
    assert list(index.unmarked()) == sorted(values.keys() - on_platform)


def test_ids_without_values_answer_the_default() -> None:
    index = SortedIds.of([3, 5])

    assert 5 in index
    assert 4 not in index
    assert index.value(5, NEVER) == NEVER


def test_ids_out_of_order_are_refused() -> None:
    """A lookup's binary search needs them ascending: a store that streamed them in
    another order is a bug, not a contact to miss."""
    with pytest.raises(ValueError, match="out of order"):
        SortedIds.of([1, 3, 2])
    with pytest.raises(ValueError, match="out of order"):
        SortedIds.of([1, 1])


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
)
def test_microseconds_order_as_the_datetimes_do(a: datetime, b: datetime) -> None:
    assert (micros(a) > micros(b)) == (a > b)
    assert (micros(a) == micros(b)) == (a == b)
    assert micros(a) > NEVER
