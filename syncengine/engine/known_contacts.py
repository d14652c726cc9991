"""What a ``sync --all`` knows of every contact, in arrays rather than dicts.

A run asks three things of every contact the scan meets: is it mirrored, when did its
last sync see the platform record (``SyncState.platform_modified``), and is it on the
platform. Held as dicts and sets of Python objects (an int, a string or a datetime per
contact, and a hash table slot each), that was about 1.5 KB a contact at 100,000, which
made a run with nothing changed grow with the organisation (issue 9; docs/benchmarks.md).

Here each side is one sorted ``array`` of contact ids (8 bytes each) with its values in a
parallel array and a mark per contact in a ``bytearray``: 8 to 17 bytes a contact, read
from the store as a stream (no dict of it ever exists). A lookup is a binary search,
short-cut by the position after the previous hit: a scan that meets contacts in id order
(the memory and files adapters, mostly the sql one) finds each at the first probe, as a
merge join would.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Set
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["NEVER", "SortedIds", "changed_since_synced", "micros", "platform_stamps"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
# A stamp before every moment a datetime can hold: "no platform_modified recorded".
NEVER: Final = -(2**63)


def micros(moment: datetime) -> int:
    """An aware datetime as microseconds since the epoch: ordered exactly as the
    datetimes are (a datetime holds no finer unit)."""
    return (moment - _EPOCH) // _MICROSECOND


class SortedIds(Set[int]):
    """Contact ids, ascending, each with an integer value and a mark.

    Built from ascending ids (the store's streamed reads); a set of those ids for
    ``in``, iteration and ``len``."""

    def __init__(self, pairs: Iterable[tuple[int, int]] = (), *, valued: bool = True) -> None:
        self._ids: array[int] = array("q")
        self._values: array[int] = array("q")  # empty unless ``valued``
        for contact_id, value in pairs:
            if self._ids and contact_id <= self._ids[-1]:
                raise ValueError(f"contact ids out of order: {contact_id} after {self._ids[-1]}")
            self._ids.append(contact_id)
            if valued:
                self._values.append(value)
        self._marks = bytearray(len(self._ids))
        self._next = 0  # where the next lookup looks first

    @classmethod
    def of(cls, ids: Iterable[int]) -> SortedIds:
        """Ids without values (``value`` answers its default)."""
        return cls(((contact_id, 0) for contact_id in ids), valued=False)

    def find(self, contact_id: int) -> int:
        """The position of ``contact_id``, or -1."""
        ids = self._ids
        at = self._next
        if not (at < len(ids) and ids[at] == contact_id):
            at = bisect_left(ids, contact_id)
            if not (at < len(ids) and ids[at] == contact_id):
                return -1
        self._next = at + 1
        return at

    def value(self, contact_id: int, default: int) -> int:
        at = self.find(contact_id)
        return default if at < 0 or not self._values else self._values[at]

    def mark(self, contact_id: int) -> bool | None:
        """Mark ``contact_id``: whether it was newly marked; None if it is not here."""
        at = self.find(contact_id)
        if at < 0:
            return None
        if self._marks[at]:
            return False
        self._marks[at] = 1
        return True

    def marked(self, contact_id: int) -> bool:
        at = self.find(contact_id)
        return at >= 0 and bool(self._marks[at])

    def unmarked(self) -> Iterator[int]:
        """The ids not marked, ascending."""
        at = self._marks.find(0)
        while at >= 0:
            yield self._ids[at]
            at = self._marks.find(0, at + 1)

    def __contains__(self, contact_id: object) -> bool:
        return isinstance(contact_id, int) and self.find(contact_id) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def platform_stamps(pairs: Iterable[tuple[int, datetime | None]]) -> SortedIds:
    """The sync states' ``platform_modified``, from ``SyncStateStore.stream_platform_stamps``,
    in microseconds: ``NEVER`` where a state recorded no time."""
    return SortedIds(
        (contact_id, NEVER if modified is None else micros(modified))
        for contact_id, modified in pairs
    )


def changed_since_synced(states: SortedIds, contact_id: int, modified_at: datetime) -> bool:
    """``run_all.changed_since_sync`` against ``platform_stamps``: true when the contact was
    never synced, its sync recorded no time, or its record was modified since."""
    return micros(modified_at) > states.value(contact_id, NEVER)
