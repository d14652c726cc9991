"""A reverse index over stored contacts: key -> ids of the contacts whose record yields it.

The store keeps two (emails -> owners, for the 409 check; nested item ids -> their
contact, for the sub-resource routes) so that no request scans every contact. It updates
them on each ``put``, ``delete`` and ``load``; ``replace`` forgets what was indexed for a
contact before indexing its new version, remembering the keys it indexed rather than
recomputing them from the old record, which may have been changed in place meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from syncengine.domain.ports import Record

K = TypeVar("K")


class ReverseIndex(Generic[K]):
    def __init__(self, keys_of: Callable[[Record], Iterable[K]]) -> None:
        self._keys_of = keys_of
        self._owners: dict[K, set[int]] = {}
        self._indexed: dict[int, frozenset[K]] = {}

    def rebuild(self, contacts: Iterable[Record]) -> None:
        self._owners = {}
        self._indexed = {}
        for contact in contacts:
            self.replace(int(contact["id"]), contact)

    def replace(self, contact_id: int, contact: Record | None) -> None:
        """Forget what ``contact_id`` yielded; index ``contact`` (its new version) if given."""
        for key in self._indexed.pop(contact_id, frozenset()):
            holders = self._owners[key]
            holders.discard(contact_id)
            if not holders:
                del self._owners[key]
        if contact is None:
            return
        keys = frozenset(self._keys_of(contact))
        if keys:
            self._indexed[contact_id] = keys
        for key in keys:
            self._owners.setdefault(key, set()).add(contact_id)

    def owners(self, key: K) -> frozenset[int]:
        return frozenset(self._owners.get(key, ()))

    def snapshot(self) -> dict[K, frozenset[int]]:
        return {key: frozenset(ids) for key, ids in self._owners.items()}
