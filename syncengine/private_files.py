"""Files the engine writes that hold donor data (reports, drift reports): owner-only.

A report lists names, addresses and conflicting values; whoever shares it does so on
purpose (a copy, a chmod), never through a permissive umask. The database file itself is
made owner-only where SQLite opens it (``syncengine.store.database``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

OWNER_ONLY = 0o600


def write_owner_only(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``target`` whole or not at all.

    A new file is created ``0o600`` whatever the umask; a file replaced keeps the mode
    its owner gave it (a report folder shared with a team on purpose stays shared).
    The bytes go to a temporary file beside ``target``, renamed into place, so a reader
    never sees half a file. OSError is the caller's to report; no temporary is left.
    """
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = OWNER_ONLY
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)  # a crashed earlier write's leftover
    try:
        # O_EXCL: the mode is applied by this call, never inherited from an existing file.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        if mode != OWNER_ONLY:
            temporary.chmod(mode)
        temporary.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
