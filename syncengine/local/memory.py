"""The in-memory twin of a local platform, for engine tests and simulations.

It keeps the port's promises exactly as the real adapters do (the same contract suite runs
against all of them): saves overlay the given fields, refuse on a stale
``expected_modified``, never touch a malformed record; ``link`` gives a new record its
contact id without changing its modification time; ``relink`` moves a record to the
contact it was merged into.

Besides the port it has the platform USER's side -- ``put_linked``, ``put_new``,
``corrupt``, ``remove`` -- so a test can edit the platform behind the engine's back.
Time comes from an injected clock (a ``ManualClock`` unless told otherwise); every write
is stamped strictly after the record's previous stamp, even when the clock stands still.
Safe to share between threads (``sync.concurrency``): every method holds one lock, so a
check and the change it guards (a stale ``expected_modified``, a taken contact id) are
one step, as a database's transaction makes them for the sql adapter.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from syncengine.domain.ports import (
    Clock,
    LocalRecord,
    Record,
    UnchangedRecord,
    UnchangedTest,
    whole_records,
)
from syncengine.errors import LocalConflictError, LocalDataError
from syncengine.local.clock import ManualClock
from syncengine.local.documents import id_problem
from syncengine.local.moments import later_than, same_moment
from syncengine.local.overlay import overlay

__all__ = ["MemoryPlatform"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _locked(
    method: Callable[Concatenate[MemoryPlatform, _P], _R],
) -> Callable[Concatenate[MemoryPlatform, _P], _R]:
    def run(self: MemoryPlatform, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            return method(self, *args, **kwargs)

    run.__doc__ = method.__doc__
    return run


@dataclass
class _Entry:
    contact_id: int | None
    record: Record
    modified_at: datetime
    problem: str | None = None  # set: the record is malformed and must not be touched


class MemoryPlatform:
    """A local platform held in two dicts: linked records by contact id, new ones by key."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else ManualClock()
        self._lock = threading.RLock()
        self._linked: dict[int, _Entry] = {}
        self._new: dict[str, _Entry] = {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MemoryPlatform:
        """An empty platform on a ManualClock; it takes no options."""
        return cls()

    def close(self) -> None:
        """Nothing to release; present so every adapter can be closed the same way."""

    # -- the port ------------------------------------------------------------------------

    def scan(self) -> Iterator[LocalRecord | LocalDataError]:
        return whole_records(self.scan_changed)

    def scan_changed(
        self, unchanged: UnchangedTest
    ) -> Iterator[LocalRecord | UnchangedRecord | LocalDataError]:
        # Snapshots of the keys: the engine may save or link while it iterates. The lock
        # is held per record, never across a yield.
        with self._lock:
            linked, new = sorted(self._linked), sorted(self._new)
        for contact_id in linked:
            with self._lock:
                entry = self._linked.get(contact_id)
                found = None if entry is None else self._unless_known(entry, unchanged)
            if found is not None:
                yield found
        for key in new:
            with self._lock:
                entry = self._new.get(key)
                found = None if entry is None else self._quietly(key, entry)
            if found is not None:
                yield found

    def _unless_known(
        self, entry: _Entry, unchanged: UnchangedTest
    ) -> LocalRecord | UnchangedRecord | LocalDataError:
        key = str(entry.contact_id)
        if (
            entry.contact_id is not None
            and entry.problem is None
            and unchanged(entry.contact_id, entry.modified_at)
        ):
            return UnchangedRecord(key, entry.contact_id, entry.modified_at)
        return self._quietly(key, entry)

    @_locked
    def get(self, contact_id: int) -> LocalRecord | None:
        entry = self._linked.get(contact_id)
        return None if entry is None else self._view(str(contact_id), entry)

    @_locked
    def save(
        self, contact_id: int, record: Record, *, expected_modified: datetime | None
    ) -> LocalRecord:
        where = self._where(str(contact_id))
        problem = id_problem(record, contact_id)
        if problem:
            raise ValueError(f"cannot save {where}: the given record: {problem}")
        entry = self._linked.get(contact_id)
        if expected_modified is None:
            if entry is not None:
                self._view(str(contact_id), entry)  # a malformed record says so
                raise LocalConflictError(where)
            entry = _Entry(contact_id, copy.deepcopy(record), self._stamp(None))
            self._linked[contact_id] = entry
            return self._view(str(contact_id), entry)
        if entry is None:
            raise LocalConflictError(where)
        current = self._view(str(contact_id), entry)
        if not same_moment(current.modified_at, expected_modified):
            raise LocalConflictError(where)
        merged = overlay(entry.record, record)
        if merged != entry.record:
            entry.record = merged
            entry.modified_at = self._stamp(entry.modified_at)
        return self._view(str(contact_id), entry)

    @_locked
    def get_new(self, key: str) -> LocalRecord | None:
        entry = self._new.get(key)
        return None if entry is None else self._view(key, entry)

    def location(self, key: str) -> str:
        return self._where(key)

    @_locked
    def link(self, key: str, contact_id: int) -> LocalRecord:
        entry = self._new.get(key)
        if entry is None:
            raise LocalConflictError(self._where(key))
        self._view(key, entry)  # malformed: reported, left where it is
        if contact_id in self._linked:
            raise LocalConflictError(self._where(str(contact_id)))
        del self._new[key]
        entry.contact_id = contact_id
        self._linked[contact_id] = entry
        return self._view(str(contact_id), entry)

    @_locked
    def relink(
        self, contact_id: int, survivor_id: int, record: Record | None = None
    ) -> LocalRecord:
        _check_relink(contact_id, survivor_id)
        if record is not None:
            problem = id_problem(record, survivor_id)
            if problem:
                raise ValueError(f"cannot relink {self._where(str(contact_id))}: {problem}")
        entry = self._linked.get(contact_id)
        if entry is None:
            raise LocalConflictError(self._where(str(contact_id)))  # not here any more
        self._view(str(contact_id), entry)  # malformed: reported, left where it is
        if survivor_id in self._linked:
            raise LocalConflictError(self._where(str(survivor_id)))
        del self._linked[contact_id]
        entry.contact_id = survivor_id
        if record is not None:
            entry.record = overlay(entry.record, record)
            if entry.record.get("id") is not None:
                entry.record = {**entry.record, "id": survivor_id}
            entry.modified_at = self._stamp(entry.modified_at)
        elif entry.record.get("id") is not None:
            # The record's own id names the contact too (it equals contact_id: checked
            # above). Rewriting it is a write, so the modification time moves.
            entry.record = {**entry.record, "id": survivor_id}
            entry.modified_at = self._stamp(entry.modified_at)
        self._linked[survivor_id] = entry
        return self._view(str(survivor_id), entry)

    # -- the platform user's side --------------------------------------------------------

    @_locked
    def put_linked(self, contact_id: int, record: Record) -> LocalRecord:
        """The platform writes contact ``contact_id``'s whole record (creating it if new)."""
        previous = self._linked.get(contact_id)
        entry = _Entry(
            contact_id,
            copy.deepcopy(record),
            self._stamp(previous.modified_at if previous else None),
        )
        self._linked[contact_id] = entry
        return self._view(str(contact_id), entry)

    @_locked
    def put_new(self, key: str, record: Record) -> LocalRecord:
        """The platform writes a contact not yet in CRM+, under its own ``key``."""
        previous = self._new.get(key)
        entry = _Entry(
            None, copy.deepcopy(record), self._stamp(previous.modified_at if previous else None)
        )
        self._new[key] = entry
        return self._view(key, entry)

    @_locked
    def corrupt(self, key: str, problem: str = "malformed on purpose") -> None:
        """Make a record malformed: reported by scan/get, refused by save and link.

        ``key`` is a contact id as text for a linked record, else a new record's key.
        """
        self._entry(key).problem = problem

    @_locked
    def raw(self, key: str) -> tuple[Record, datetime, str | None]:
        """What is stored under ``key``, malformed or not: (record copy, modified, problem)."""
        entry = self._entry(key)
        return copy.deepcopy(entry.record), entry.modified_at, entry.problem

    @_locked
    def remove(self, key: str) -> None:
        """The platform deletes a record (same ``key`` convention as ``corrupt``)."""
        entry = self._entry(key)
        if entry.contact_id is not None:
            del self._linked[entry.contact_id]
        else:
            del self._new[key]

    # -- internals -----------------------------------------------------------------------

    def _entry(self, key: str) -> _Entry:
        if key in self._new:
            return self._new[key]
        if key.isdigit() and int(key) in self._linked:
            return self._linked[int(key)]
        raise KeyError(key)

    def _stamp(self, previous: datetime | None) -> datetime:
        return later_than(previous, self.clock.now())

    def _view(self, key: str, entry: _Entry) -> LocalRecord:
        """The record as the port hands it out: a copy, so callers cannot change ours."""
        where = self._where(key)
        if entry.problem is not None:
            raise LocalDataError(where, entry.problem)
        problem = id_problem(entry.record, entry.contact_id)
        if problem:
            raise LocalDataError(where, problem)
        return LocalRecord(
            key=key,
            contact_id=entry.contact_id,
            record=copy.deepcopy(entry.record),
            modified_at=entry.modified_at,
        )

    def _quietly(self, key: str, entry: _Entry) -> LocalRecord | LocalDataError:
        try:
            return self._view(key, entry)
        except LocalDataError as exc:
            return exc

    @staticmethod
    def _where(key: str) -> str:
        return f"memory record {key!r}"


def _check_relink(contact_id: int, survivor_id: int) -> None:
    for value in (contact_id, survivor_id):
        if type(value) is not int or value <= 0:
            raise ValueError(f"a contact id is a positive integer, not {value!r}")
    if contact_id == survivor_id:
        raise ValueError(f"contact {contact_id} cannot be merged into itself")
