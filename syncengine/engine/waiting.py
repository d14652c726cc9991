"""Contacts with something to apply although neither side changed since their last sync."""

from __future__ import annotations

from syncengine.domain.ports import ConflictStatus, ConflictStore, Journal


def waiting_contacts(journal: Journal, conflicts: ConflictStore) -> set[int]:
    """An outside write the platform has not been given yet, or a data manager's
    decision not applied yet: the contact's next sync has work even if nothing changed."""
    carried = {e.contact_id for e in journal.uncarried() if e.contact_id is not None}
    return carried | conflicts.contacts_with(ConflictStatus.RESOLVED, unapplied=True)
