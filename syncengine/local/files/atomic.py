"""Atomic file writes: a reader sees the old document or the new one, never half of one.

The bytes go to a temporary file in the SAME folder (a rename is only atomic within one
file system), are flushed to disk, and only then take the document's name. Temporary
files start with a dot and end with ``.tmp``, so the folder scan ignores them; they are
removed when anything fails.

Two ways to give the temporary file its name:
- ``replace``: ``os.replace``, for a document we are allowed to overwrite;
- ``create``: ``os.link``, which fails if the name exists, so a document that appeared
  meanwhile is never overwritten. The temporary name is removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Final

TEMP_SUFFIX: Final = ".tmp"


def replace(
    folder: Path, name: str, data: bytes, *, newer_than_ns: int | None = None
) -> os.stat_result:
    """Write ``data`` as ``folder/name``, replacing it. Returns the new file's status.

    The new file keeps the old one's permission bits: other programs of the platform
    that could read the document must still be able to. Its mtime is made later than
    ``newer_than_ns`` (the replaced version's): see ``_temporary``.
    """
    try:
        mode: int | None = stat.S_IMODE((folder / name).stat().st_mode)
    except FileNotFoundError:
        mode = None
    temp, status = _temporary(folder, name, data, mode, newer_than_ns)
    try:
        temp.replace(folder / name)
    finally:
        _remove_quietly(temp)
    sync_folder(folder)
    return status


def create(folder: Path, name: str, data: bytes) -> os.stat_result:
    """Write ``data`` as ``folder/name``; FileExistsError (nothing written) if it exists."""
    temp, status = _temporary(folder, name, data, None, None)
    try:
        os.link(temp, folder / name)
    finally:
        _remove_quietly(temp)
    sync_folder(folder)
    return status


def link_new_name(folder: Path, old: str, new: str) -> None:
    """Give ``old`` the name ``new`` as well; FileExistsError if ``new`` exists.

    The caller removes ``old`` afterwards. Unlike a rename, this never replaces ``new``.
    """
    os.link(folder / old, folder / new)


def sync_folder(folder: Path) -> None:
    """Make a rename or link durable: the folder entry itself must reach the disk."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the data itself is synced already
    try:
        os.fsync(fd)
    except OSError:
        pass  # not supported on every file system; nothing else to do about it
    finally:
        os.close(fd)


def _temporary(
    folder: Path, name: str, data: bytes, mode: int | None, newer_than_ns: int | None
) -> tuple[Path, os.stat_result]:
    # Not tempfile.mkstemp: its files are private (0600). os.open with 0666 lets the
    # process umask decide, as for any file the platform itself would create.
    while True:
        temp = folder / f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue  # a leftover with the same random name: draw another
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                temp.chmod(mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            # After the last write: a rename or link keeps this modification time.
            status = os.fstat(handle.fileno())
            if newer_than_ns is not None and status.st_mtime_ns // 1000 <= newer_than_ns // 1000:
                # File systems stamp mtimes from a coarse clock (every few ms): a write
                # right after the previous one can get the very same mtime, and a writer
                # holding that older version would then pass the concurrency check.
                later = (newer_than_ns // 1000 + 1) * 1000
                os.utime(temp, ns=(status.st_atime_ns, later))
                status = os.fstat(handle.fileno())
    except BaseException:
        _remove_quietly(temp)
        raise
    return temp, status


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
