"""``push``, ``archive`` and ``unarchive``: a person's change to one contact, written to
CRM+ with the safe update, outside the two-way sync.

Such a write changes CRM+ but not the platform, so it must not move the sync's merge
base (the mirror: the last state BOTH sides agreed on). If it did, the platform's value
at the written fields, now older than the base, would read as a platform edit and the
next sync would push it back over the person's change; and every other CRM-side edit
made since the last sync would be folded into the base unseen by the platform, and
reverted the same way.

So these writes leave the mirror alone and are journaled as *outside* writes. The
contact's next sync (``sync --contact``, ``sync --all``, the daemon) carries CRM+'s
value at their fields to the platform and never the platform's older one back: a push
gives way to nothing (see ``ContactSync._plan``). A contact the sync does not know yet
(not in the mirror) has nothing to carry.

Every write holds the contact's claim, so it never interleaves with a sync of the same
contact by another process: it waits for that sync to finish, and the sync waits for it.
It is let in by the request budget first: when the budget is spent until a reset beyond
the max wait, ``CrmBudgetExhausted`` says when, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncengine.domain.plan import Change
from syncengine.domain.ports import CrmPort, MirrorStore
from syncengine.engine.budget import CONTACT_REQUESTS
from syncengine.engine.claims import RunClaims, contact_subject
from syncengine.engine.push import PushReport, SafeUpdater

CARRY_NOTE = (
    "the platform gets CRM+'s new values on the contact's next sync "
    "(`syncengine sync --contact {id}`)"
)


class ManualWrites:
    def __init__(
        self, updater: SafeUpdater, mirror: MirrorStore, claims: RunClaims, crm: CrmPort
    ) -> None:
        self._updater = updater
        self._crm = crm
        self._mirror = mirror
        self._claims = claims

    def push(
        self, contact_id: int, changes: Sequence[Change], *, dry_run: bool = False
    ) -> PushReport:
        if dry_run:
            return self._updater.push(contact_id, changes, dry_run=True)
        with (
            self._claims.holding(contact_subject(contact_id)),
            self._crm.admit(CONTACT_REQUESTS),
        ):
            synced = self._synced(contact_id)
            report = self._updater.push(contact_id, changes, outside=synced)
        if synced and report.changed:
            report.notes.append(CARRY_NOTE.format(id=contact_id))
        return report

    def set_archived(self, contact_id: int, archived: bool, *, dry_run: bool = False) -> PushReport:
        if dry_run:
            return self._updater.set_archived(contact_id, archived, dry_run=True)
        with (
            self._claims.holding(contact_subject(contact_id)),
            self._crm.admit(CONTACT_REQUESTS),
        ):
            synced = self._synced(contact_id)
            report = self._updater.set_archived(contact_id, archived, outside=synced)
        if synced and report.changed:
            report.notes.append(CARRY_NOTE.format(id=contact_id))
        return report

    def _synced(self, contact_id: int) -> bool:
        """Whether the two-way sync knows the contact (and so must carry the write)."""
        return self._mirror.get(contact_id) is not None
