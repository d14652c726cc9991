"""``MergeMemo``: a contact's merge, made once when the same versions are merged twice.

A pushed contact is merged twice with the same three versions in the usual case:
- ``sync --all`` plans every changed contact before its first write (the guard weighs
  the whole run), then syncs each one: the record read before the PUT is the one the
  mirror holds when CRM+ did not change the contact meanwhile;
- a contact whose CRM+ side the run knows unchanged is planned against the mirror
  first (no request), and only a plan that does something reads the contact from CRM+
  and is made again: on the same record, unless CRM+ changed it.

The merge was a third of a push's CPU. The memo keeps each contact's last merge with a
digest of everything it was made of (the three records as JSON text, in their key
order, the platform's modification time and the held conflicts) and hands it out
again, once, to a merge of the very same inputs. Anything else is merged anew: a
record that differs in one value, one type (``1`` and ``1.0`` are different JSON
text), one key's place, a conflict opened meanwhile.

The digest, not the records, is kept: a record changed in place after its merge (the
sync never does, but nothing could tell) cannot make a stale merge look current, and a
kept merge costs its result and 16 bytes. Only the merges a second one may follow are
kept (``keep``), each until that one or its contact's sync ends, and a run forgets what
is left when it ends (``ContactSync.forget_plans``): a long-lived process keeps none
between runs. At most ``capacity`` contacts are kept, the oldest dropped first; a run
planning more than that before syncing them merges the first ones again, as before.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from syncengine.domain.merge import MergeResult, merge3
from syncengine.domain.policy import MergePolicy
from syncengine.domain.ports import Record

# A kept merge is 5 KB for a typical contact, 28 KB for a large one (813 leaves).
DEFAULT_CAPACITY = 1024


@dataclass(frozen=True)
class _Kept:
    digest: bytes
    result: MergeResult


class MergeMemo:
    """``merge3`` of one contact, remembered until a second merge of the same inputs.

    Thread-safe: a run syncs several contacts at once. The policy is not part of the
    digest: one memo serves one policy (``ContactSync``'s, fixed when it is built)."""

    def __init__(self, policy: MergePolicy, capacity: int = DEFAULT_CAPACITY) -> None:
        self._policy = policy
        self._capacity = capacity
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.reused = 0  # merges handed out again (for the benchmarks and the tests)

    def merge(
        self,
        contact_id: int,
        base: Record | None,
        platform: Record,
        crm: Record,
        *,
        platform_modified: datetime | None,
        open_conflicts: Collection[str],
        keep: bool = True,
    ) -> MergeResult:
        """The kept merge of these very inputs if there is one (then forgotten), else a
        new one, kept for the next merge of the contact if ``keep``."""
        digest = _digest(base, platform, crm, platform_modified, open_conflicts)
        with self._lock:
            kept = self._kept.pop(contact_id, None)
        if digest is not None and kept is not None and kept.digest == digest:
            # Handed out once more, then forgotten: at most two callers share a result.
            with self._lock:
                self.reused += 1
            return kept.result
        result = merge3(
            base,
            platform,
            crm,
            self._policy,
            platform_modified=platform_modified,
            open_conflicts=open_conflicts,
        )
        if keep and digest is not None and result.built is not None:
            # Sides that agree are told at C speed without aligning anything: not kept.
            with self._lock:
                self._kept[contact_id] = _Kept(digest, result)
                while len(self._kept) > self._capacity:
                    self._kept.popitem(last=False)
        return result

    def forget(self, contact_id: int) -> None:
        with self._lock:
            self._kept.pop(contact_id, None)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


def _digest(
    base: Record | None,
    platform: Record,
    crm: Record,
    platform_modified: datetime | None,
    open_conflicts: Collection[str],
) -> bytes | None:
    """What the merge is made of, as 16 bytes; None for a record that is not JSON (never
    the case for a record the sync merges, but then it is simply merged)."""
    try:
        text = json.dumps(
            [
                base,
                platform,
                crm,
                None if platform_modified is None else platform_modified.isoformat(),
                sorted(open_conflicts),
            ],
            allow_nan=False,
        )
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
