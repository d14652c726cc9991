"""The ``files`` adapter: a folder with one JSON document per contact.

See ``naming`` for which files count and ``atomic`` for how they are written. A
document's modification time is its file's mtime. A save is refused
(``LocalConflictError``) when the file changed since the engine read it: its mtime differs
from ``expected_modified`` or -- because many file systems stamp mtimes only every few
milliseconds -- its bytes differ from what this adapter last read or wrote at that same
mtime.

A document that cannot be written (an immutable file, a full disk) is that contact's
problem (``LocalDataError``: reported, the run goes on); only a folder that cannot be
listed stops a run (``LocalPlatformError``).

One window remains: a platform write landing between the check and the atomic replace
(microseconds) is overwritten. Files offer no compare-and-swap; a platform that needs
more must lock, or use the sql adapter.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syncengine.domain.ports import (
    LocalRecord,
    Record,
    UnchangedRecord,
    UnchangedTest,
    nothing_unchanged,
    whole_records,
)
from syncengine.errors import (
    ConfigError,
    LocalConflictError,
    LocalDataError,
    LocalPlatformError,
    UnreadableDocumentError,
)
from syncengine.local.documents import id_problem, parse_document, render_document
from syncengine.local.files import atomic
from syncengine.local.files.naming import (
    BAD_NAME,
    SUFFIX,
    DocumentName,
    is_candidate,
    linked_name,
    new_name,
    parse_name,
)
from syncengine.local.moments import from_ns, micros
from syncengine.local.overlay import overlay

__all__ = ["FilesPlatform"]

# File systems stamp modification times from a coarse clock: every few milliseconds on
# Linux (ext4, xfs, tmpfs), every second on ext3 and HFS+, every two seconds on FAT. Two
# writes within one tick carry the same mtime, so a version is only told apart from a
# later edit by its mtime once the tick it was stamped in has passed. Two seconds covers
# them all; the price is one more look (a read and a plan, no request) at a record synced
# within two seconds of its last write. ``local.stamp_resolution`` sets another (a network
# file system with a coarser clock; a platform that wants the looks sooner over).
STAMP_RESOLUTION_NS = 2_000_000_000
MAX_STAMP_RESOLUTION_S = 60

# How often a document that looks half-written is read again (``_hand_out_written``).
REREAD_INTERVAL_S = 0.05


@dataclass(frozen=True)
class _Snapshot:
    """One read of one document file: its bytes and the status of that same open file."""

    file_name: str
    name: DocumentName
    data: bytes
    status: os.stat_result

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def inode(self) -> tuple[int, int]:
        return (self.status.st_dev, self.status.st_ino)


@dataclass(frozen=True)
class _Seen:
    """What this adapter last read or wrote as one file: to notice a same-mtime change."""

    mtime_ns: int
    digest: str


class FilesPlatform:
    """The platform's contacts as ``<contactId>.json`` / ``new-<key>.json`` in ``folder``."""

    def __init__(
        self, folder: str | os.PathLike[str], *, stamp_resolution_ns: int = STAMP_RESOLUTION_NS
    ) -> None:
        path = Path(folder)
        # A missing folder is refused, not created: an empty platform would make every
        # CRM+ contact look new to it, and a typo in the path would fill a fresh folder.
        if not path.is_dir():
            problem = "is not a folder" if path.exists() else "does not exist"
            raise ConfigError("local.path", f"{str(path)!r} {problem}")
        self._folder = path
        self._seen: dict[str, _Seen] = {}
        self._resolution_ns = stamp_resolution_ns

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FilesPlatform:
        """From the ``local:`` section: ``path`` (the folder) and ``stamp_resolution``
        (seconds; the file system's timestamp resolution, 2 by default). Other keys are
        not ours."""
        if not isinstance(options, Mapping):
            raise ConfigError("local", "must be a mapping of options")
        folder = options.get("path")
        if folder is None:
            raise ConfigError("local.path", "missing: the folder holding the contact documents")
        if not isinstance(folder, str | os.PathLike) or not str(folder).strip():
            raise ConfigError("local.path", f"must be a folder path, not {folder!r}")
        resolution = options.get("stamp_resolution", STAMP_RESOLUTION_NS / 1e9)
        if (
            isinstance(resolution, bool)
            or not isinstance(resolution, int | float)
            or not 0 < resolution <= MAX_STAMP_RESOLUTION_S
        ):
            raise ConfigError(
                "local.stamp_resolution",
                f"must be a number of seconds above 0 and at most {MAX_STAMP_RESOLUTION_S}, "
                f"not {resolution!r}",
            )
        return cls(folder, stamp_resolution_ns=round(resolution * 1e9))

    @property
    def folder(self) -> Path:
        return self._folder

    def close(self) -> None:
        """Nothing to release; present so every adapter can be closed the same way."""

    # -- the port ------------------------------------------------------------------------

    def scan(self) -> Iterator[LocalRecord | LocalDataError]:
        return whole_records(self.scan_changed)

    def scan_changed(
        self, unchanged: UnchangedTest
    ) -> Iterator[LocalRecord | UnchangedRecord | LocalDataError]:
        # Bad names first, then the linked documents by contact id, then the new ones.
        linked, new, bad = self._listing()
        for file_name in bad:
            yield LocalDataError(self._where(file_name), BAD_NAME)
        # The inodes of linked documents with more than one name: only such a file can be
        # a new document too (a link() interrupted between its two steps).
        twins: set[tuple[int, int]] = set()
        for contact_id in linked:
            name = DocumentName(contact_id, str(contact_id))
            file_name = f"{name.key}{SUFFIX}"
            known = self._known_unchanged(file_name, name, unchanged)
            if known is not None:
                # Only its status was read: one stat, where a full read opens, reads,
                # hashes and parses the document.
                record, status = known
                if status.st_nlink > 1:
                    twins.add((status.st_dev, status.st_ino))
                yield record
                continue
            snapshot = self._read_quietly(file_name, name)
            if snapshot is None:
                continue  # removed since the listing: nothing to report
            if isinstance(snapshot, LocalDataError):
                yield snapshot
                continue
            if snapshot.status.st_nlink > 1:
                twins.add(snapshot.inode)
            handed = self._hand_out_quietly(snapshot)
            if handed is not None:
                yield handed
        for file_name, name in new:
            snapshot = self._read_quietly(file_name, name)
            if snapshot is None:
                continue
            if isinstance(snapshot, LocalDataError):
                yield snapshot
                continue
            if snapshot.inode in twins:
                # A link() interrupted between its two steps: the same file under both
                # names. It is that linked contact; the next link() call finishes the job.
                continue
            handed = self._hand_out_quietly(snapshot)
            if handed is not None:
                yield handed

    def _listing(
        self,
    ) -> tuple[array[int], list[tuple[str, DocumentName]], list[str]]:
        """The folder's documents: the linked ones' contact ids, ascending; the new ones'
        names and the bad names, sorted by name.

        The folder is read as a stream and only the ids of the linked documents are kept,
        8 bytes each in an array (their names are ``<contactId>.json``, nothing else): a
        run over 100,000 documents held their names and parsed names, a third of the
        memory it added (issue 9)."""
        ids: array[int] = array("q")
        new: list[tuple[str, DocumentName]] = []
        bad: list[str] = []
        try:
            with os.scandir(self._folder) as entries:
                for entry in entries:
                    if not (is_candidate(entry.name) and _is_file(entry)):
                        continue
                    name = parse_name(entry.name)
                    if name is None:
                        bad.append(entry.name)
                    elif name.contact_id is None:
                        new.append((entry.name, name))
                    else:
                        ids.append(name.contact_id)
        except OSError as exc:
            raise LocalPlatformError(
                str(self._folder), f"cannot list the folder: {exc.strerror or exc}"
            ) from exc
        # Sorted through a list of ints (a moment's 40 bytes a document), kept as an array.
        linked = array("q", sorted(ids))
        del ids
        return linked, sorted(new, key=lambda item: item[0]), sorted(bad)

    def _known_unchanged(
        self, file_name: str, name: DocumentName, unchanged: UnchangedTest
    ) -> tuple[UnchangedRecord, os.stat_result] | None:
        """The document as an ``UnchangedRecord`` (and its status) if the caller knows it
        at its present mtime; None when it must be read whole (or cannot be stat-ed: the
        read then says why)."""
        if unchanged is nothing_unchanged or name.contact_id is None:
            return None  # a stat would be wasted: the document is read anyway
        try:
            status = (self._folder / file_name).stat()
        except OSError:
            return None
        modified_at = from_ns(status.st_mtime_ns)
        if not unchanged(name.contact_id, modified_at):
            return None
        return UnchangedRecord(name.key, name.contact_id, modified_at), status

    def get(self, contact_id: int) -> LocalRecord | None:
        file_name = linked_name(contact_id)
        snapshot = self._read(file_name, DocumentName(contact_id, str(contact_id)))
        return None if snapshot is None else self._hand_out_written(snapshot)

    def get_new(self, key: str) -> LocalRecord | None:
        try:
            file_name = new_name(key)
        except ValueError:
            return None  # no file can have that name
        snapshot = self._read(file_name, DocumentName(None, key))
        if snapshot is None:
            return None
        # More than one name on the file: a link() that stopped half-way, so it is a
        # linked record already (the scan hands it out under that name).
        if snapshot.status.st_nlink > 1 and self._linked_twin(snapshot):
            return None
        return self._hand_out_written(snapshot)

    def location(self, key: str) -> str:
        """The document's path: ``<key>.json`` for a linked contact, else
        ``new-<key>.json``."""
        name = parse_name(f"{key}.json")
        if name is not None and name.contact_id is not None:
            linked = self._folder / linked_name(name.contact_id)
            if linked.exists():
                return str(linked)
        try:
            return str(self._folder / new_name(key))
        except ValueError:
            return str(self._folder / f"{key}.json")

    def _linked_twin(self, snapshot: _Snapshot) -> bool:
        """Whether a new document is also present under a linked name (same inode)."""
        for file_name in self._list():
            name = parse_name(file_name)
            if name is None or name.contact_id is None:
                continue
            if self._inode(file_name) == snapshot.inode:
                return True
        return False

    def save(
        self, contact_id: int, record: Record, *, expected_modified: datetime | None
    ) -> LocalRecord:
        file_name = linked_name(contact_id)
        where = self._where(file_name)
        problem = id_problem(record, contact_id)
        if problem:
            raise ValueError(f"cannot save {where}: the given record: {problem}")
        current = self._read(file_name, DocumentName(contact_id, str(contact_id)))

        if expected_modified is None:
            if current is not None:
                self._parse(current)  # a malformed file is reported as such
                raise LocalConflictError(where)
            return self._write(file_name, contact_id, copy.deepcopy(record), replacing=None)

        if current is None:
            raise LocalConflictError(where)  # deleted on the platform since it was read
        stored = self._parse(current).record
        if self._changed_since(current, expected_modified):
            raise LocalConflictError(where)
        merged = overlay(stored, record)
        if merged == stored:
            # Nothing to write: leaving the file alone keeps its mtime, so the next run
            # does not mistake our no-op for a platform edit.
            return self._hand_out(current)
        return self._write(file_name, contact_id, merged, replacing=current)

    def link(self, key: str, contact_id: int) -> LocalRecord:
        source = new_name(key)
        target = linked_name(contact_id)
        snapshot = self._read(source, DocumentName(None, key))
        if snapshot is None:
            raise LocalConflictError(self._where(source))  # gone since it was read
        # Malformed: reported, left where it is. A new document carries no id (checked
        # there), so it cannot disagree with the contact id it is about to get.
        document = self._parse(snapshot).record
        try:
            atomic.link_new_name(self._folder, source, target)
        except FileExistsError:
            if self._inode(target) != snapshot.inode:
                raise LocalConflictError(self._where(target)) from None
            # else: an earlier link() stopped after this step; finish it below.
        except OSError as exc:
            raise LocalDataError(
                self._where(target), f"cannot link {source}: {exc.strerror or exc}"
            ) from exc
        source_inode, target_inode = self._inode(source), self._inode(target)
        if source_inode != snapshot.inode or target_inode != snapshot.inode:
            # The platform replaced or removed the document around our link: undo the
            # link (only if the target is ours), keep the platform's version, and let
            # the next run pick it up.
            if target_inode is not None and target_inode in (snapshot.inode, source_inode):
                self._unlink(target)
            raise LocalConflictError(self._where(source))
        self._unlink(source)
        atomic.sync_folder(self._folder)
        self._seen.pop(source, None)
        self._remember(target, snapshot.status.st_mtime_ns, snapshot.digest)
        return LocalRecord(
            key=str(contact_id),
            contact_id=contact_id,
            record=document,
            modified_at=from_ns(snapshot.status.st_mtime_ns),
            settled=self._settled(snapshot.status.st_mtime_ns),
        )

    def relink(
        self, contact_id: int, survivor_id: int, record: Record | None = None
    ) -> LocalRecord:
        """``<contact_id>.json`` becomes ``<survivor_id>.json``, never replacing a file.

        Like ``link``: a hard link under the new name, then the old name is removed. A
        document with an ``id`` (or given a new ``record``) is rewritten: the linked file
        is atomically replaced by the new document (mtime strictly later, permission bits
        kept) and, since that rewrite drops whatever the platform wrote to the file
        meanwhile, the old name is only removed if it still holds exactly the version
        read. A crash between the steps leaves the record under both names; calling
        ``relink`` again finishes the job.
        """
        if contact_id == survivor_id:
            raise ValueError(f"contact {contact_id} cannot be merged into itself")
        source, target = linked_name(contact_id), linked_name(survivor_id)
        snapshot = self._read(source, DocumentName(contact_id, str(contact_id)))
        if snapshot is None:
            raise LocalConflictError(self._where(source))  # not on the platform any more
        document = self._parse(snapshot).record  # malformed: reported, left where it is
        if record is not None:
            problem = id_problem(record, survivor_id)
            if problem:
                raise ValueError(
                    f"cannot relink {self._where(source)}: the given record: {problem}"
                )
            document = overlay(document, record)
        # The document's own id (checked equal to contact_id) names the contact too, so it
        # follows; an absent or null one says nothing and stays as it is.
        rewrite = document.get("id") is not None or record is not None
        relinked = {**document, "id": survivor_id} if document.get("id") is not None else document
        data = render_document(relinked).encode("utf-8") if rewrite else snapshot.data

        finished: _Snapshot | None = None  # the rewritten copy an earlier relink left
        try:
            atomic.link_new_name(self._folder, source, target)
        except FileExistsError:
            if self._inode(target) != snapshot.inode:
                finished = self._relinked_copy(target, survivor_id, data) if rewrite else None
                if finished is None:
                    raise LocalConflictError(self._where(target)) from None
            # else: an earlier relink stopped after this step; go on from here.
        except OSError as exc:
            raise LocalDataError(
                self._where(target), f"cannot link {source}: {exc.strerror or exc}"
            ) from exc

        if finished is not None:
            status, copy_inode = finished.status, finished.inode
        else:
            source_inode, target_inode = self._inode(source), self._inode(target)
            if source_inode != snapshot.inode or target_inode != snapshot.inode:
                # Replaced or removed around our link: undo it (only if the target is
                # ours) and keep the platform's version for the next run.
                if target_inode is not None and target_inode in (snapshot.inode, source_inode):
                    self._unlink(target)
                raise LocalConflictError(self._where(source))
            status, copy_inode = snapshot.status, snapshot.inode
            if rewrite:
                try:
                    status = atomic.replace(
                        self._folder, target, data, newer_than_ns=snapshot.status.st_mtime_ns
                    )
                except OSError as exc:
                    self._unlink_if(target, snapshot.inode)
                    raise LocalDataError(
                        self._where(target), f"cannot write: {exc.strerror or exc}"
                    ) from exc
                copy_inode = (status.st_dev, status.st_ino)

        if rewrite:
            # The rewrite wrote the version we read; an edit the platform made since (in
            # place, replaced, removed) lives on under the old name only. Keep it, drop
            # our copy, and let the next run pick it up.
            again = self._read(source, DocumentName(contact_id, str(contact_id)))
            if (
                again is None
                or again.inode != snapshot.inode
                or again.status.st_mtime_ns != snapshot.status.st_mtime_ns
                or again.data != snapshot.data
            ):
                self._unlink_if(target, copy_inode)
                raise LocalConflictError(self._where(source))
        self._unlink(source)
        atomic.sync_folder(self._folder)
        self._seen.pop(source, None)
        self._remember(target, status.st_mtime_ns, hashlib.sha256(data).hexdigest())
        return LocalRecord(
            key=str(survivor_id),
            contact_id=survivor_id,
            record=relinked,
            modified_at=from_ns(status.st_mtime_ns),
            settled=self._settled(status.st_mtime_ns),
        )

    def _relinked_copy(self, target: str, survivor_id: int, data: bytes) -> _Snapshot | None:
        """``target`` if it holds exactly the bytes a relink would write (an earlier one
        stopped before removing the old name), else None."""
        try:
            found = self._read(target, DocumentName(survivor_id, str(survivor_id)))
        except LocalDataError:
            return None
        return found if found is not None and found.data == data else None

    # -- reading -------------------------------------------------------------------------

    def _list(self) -> list[str]:
        try:
            entries = sorted(os.scandir(self._folder), key=lambda e: e.name)
        except OSError as exc:
            raise LocalPlatformError(
                str(self._folder), f"cannot list the folder: {exc.strerror or exc}"
            ) from exc
        return [e.name for e in entries if is_candidate(e.name) and _is_file(e)]

    def _read(self, file_name: str, name: DocumentName) -> _Snapshot | None:
        """The file's bytes and status, or None if it does not exist."""
        try:
            with (self._folder / file_name).open("rb") as handle:
                # fstat of the handle we read: the status belongs to these very bytes,
                # even if the file is replaced while we read it.
                status = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LocalDataError(
                self._where(file_name), f"cannot read: {exc.strerror or exc}"
            ) from exc
        return _Snapshot(file_name, name, data, status)

    def _read_quietly(
        self, file_name: str, name: DocumentName
    ) -> _Snapshot | LocalDataError | None:
        try:
            return self._read(file_name, name)
        except LocalDataError as exc:
            return exc

    def _parse(self, snapshot: _Snapshot) -> LocalRecord:
        """The document as a record; LocalDataError if it is malformed."""
        where = self._where(snapshot.file_name)
        document = parse_document(snapshot.data, where)
        problem = id_problem(document, snapshot.name.contact_id)
        if problem:
            raise LocalDataError(where, problem)
        return LocalRecord(
            key=snapshot.name.key,
            contact_id=snapshot.name.contact_id,
            record=document,
            modified_at=from_ns(snapshot.status.st_mtime_ns),
            settled=self._settled(snapshot.status.st_mtime_ns),
        )

    def _hand_out(self, snapshot: _Snapshot) -> LocalRecord:
        """Parse a document the engine is about to see, remembering the exact version:
        a later save is checked against it (``_changed_since``)."""
        local = self._parse(snapshot)
        self._remember(snapshot.file_name, snapshot.status.st_mtime_ns, snapshot.digest)
        return local

    def _hand_out_written(self, snapshot: _Snapshot) -> LocalRecord | None:
        """``_hand_out`` of a document written out, or None if it was removed meanwhile.

        A partner that writes a document in place (truncate, then write) can be read
        between the two: an empty or cut-off document, stamped moments ago. Reported at
        once, that half-written version became a problem and, in the daemon, a retry half
        a minute later (seen in CI). So a document that is not JSON text at all (what a
        cut-off one looks like; one that parses but breaks a rule is judged at once) and
        whose mtime has not settled is read again when it is rewritten, until it parses,
        or its latest version has settled, or the wait (one timestamp resolution) is
        over; only then is it malformed. Documents unreadable for good cost that wait
        about once per run, not once each: by then the others have settled too."""
        give_up_ns = time.time_ns() + self._resolution_ns
        while True:
            try:
                return self._hand_out(snapshot)
            except UnreadableDocumentError:
                if self._settled(snapshot.status.st_mtime_ns) or time.time_ns() >= give_up_ns:
                    raise
            later = self._rewritten(snapshot, give_up_ns)
            if later is None:
                return None
            snapshot = later

    def _rewritten(self, snapshot: _Snapshot, give_up_ns: int) -> _Snapshot | None:
        """The document once its status differs from ``snapshot``'s (read again), or
        ``snapshot`` itself when it settled or ``give_up_ns`` came first; None if it was
        removed. Only its status is polled: a large file is not read every 50 ms."""
        deadline_ns = min(give_up_ns, snapshot.status.st_mtime_ns + self._resolution_ns)
        seen = _version(snapshot.status)
        while time.time_ns() < deadline_ns:
            time.sleep(REREAD_INTERVAL_S)
            try:
                status = (self._folder / snapshot.file_name).stat()
            except FileNotFoundError:
                return None
            except OSError:
                break  # the read below says why
            if _version(status) != seen:
                break
        return self._read(snapshot.file_name, snapshot.name)

    def _hand_out_quietly(self, snapshot: _Snapshot) -> LocalRecord | LocalDataError | None:
        try:
            return self._hand_out_written(snapshot)
        except LocalDataError as exc:
            return exc

    # -- concurrency ---------------------------------------------------------------------

    def _changed_since(self, current: _Snapshot, expected: datetime) -> bool:
        mtime_ns = current.status.st_mtime_ns
        if micros(from_ns(mtime_ns)) != micros(expected):
            return True
        seen = self._seen.get(current.file_name)
        if seen is None or micros(from_ns(seen.mtime_ns)) != micros(expected):
            return False  # nothing finer to compare with than the mtime itself
        # The version we handed out had this very mtime: any other nanoseconds or bytes
        # now mean the platform wrote within the file system's timestamp granularity.
        return seen.mtime_ns != mtime_ns or seen.digest != current.digest

    def _remember(self, file_name: str, mtime_ns: int, digest: str) -> None:
        self._seen[file_name] = _Seen(mtime_ns, digest)

    # -- writing -------------------------------------------------------------------------

    def _write(
        self, file_name: str, contact_id: int, document: Record, *, replacing: _Snapshot | None
    ) -> LocalRecord:
        where = self._where(file_name)
        data = render_document(document).encode("utf-8")
        try:
            if replacing is None:
                status = atomic.create(self._folder, file_name, data)
            else:
                status = atomic.replace(
                    self._folder, file_name, data, newer_than_ns=replacing.status.st_mtime_ns
                )
        except FileExistsError:
            raise LocalConflictError(where) from None  # appeared since we looked
        except OSError as exc:
            raise LocalDataError(where, f"cannot write: {exc.strerror or exc}") from exc
        self._remember(file_name, status.st_mtime_ns, hashlib.sha256(data).hexdigest())
        return LocalRecord(
            key=str(contact_id),
            contact_id=contact_id,
            record=document,
            modified_at=from_ns(status.st_mtime_ns),
            settled=self._settled(status.st_mtime_ns),
        )

    def _inode(self, file_name: str) -> tuple[int, int] | None:
        try:
            status = (self._folder / file_name).stat()
        except FileNotFoundError:
            return None
        return (status.st_dev, status.st_ino)

    def _unlink(self, file_name: str) -> None:
        try:
            (self._folder / file_name).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise LocalDataError(
                self._where(file_name), f"cannot remove: {exc.strerror or exc}"
            ) from exc

    def _unlink_if(self, file_name: str, inode: tuple[int, int]) -> None:
        """Remove ``file_name`` only if it is still the file we made (not the platform's)."""
        if self._inode(file_name) == inode:
            self._unlink(file_name)

    def _settled(self, mtime_ns: int) -> bool:
        """Whether a document stamped ``mtime_ns`` is older than the file system's
        timestamp resolution: a later edit cannot carry the same mtime (see
        ``LocalRecord.settled``)."""
        return time.time_ns() - mtime_ns >= self._resolution_ns

    def _where(self, file_name: str) -> str:
        return str(self._folder / file_name)


def _version(status: os.stat_result) -> tuple[int, int, int, int]:
    """What tells one version of a file from the next: a rewrite in place changes its size
    or its times, a replacement its inode."""
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False
