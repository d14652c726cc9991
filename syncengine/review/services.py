"""What the review page is given by the composition root: ports and plain callables."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncengine.domain.ports import ConflictStore, JournalEntry, ProblemLog, Record


@dataclass(frozen=True)
class ContactSides:
    """One contact as each side holds it; ``None`` where that side has no record, with the
    reason in ``problems`` when it could not be read (CRM+ unreachable, say)."""

    contact_id: int
    platform: Record | None
    mirror: Record | None
    crm: Record | None
    problems: Sequence[str] = ()
    # A platform that keeps flat columns gives leaf values by path instead of a record.
    platform_leaves: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ReviewServices:
    organization: str
    conflicts: ConflictStore
    problems: ProblemLog
    # The contact's platform record, mirror entry and live CRM+ record (one GET).
    contact_sides: Callable[[int], ContactSides]
    # The writes made to the contact, oldest first.
    history: Callable[[int], Sequence[JournalEntry]]
    # Sync the contact now, to apply decisions at once; returns what it did, in words.
    sync_now: Callable[[int], str]
    # A decision was taken on the contact: ask the daemon to sync it soon.
    decided: Callable[[int], None]


@dataclass(frozen=True)
class ReviewOptions:
    """How the page is served and who may use it."""

    host: str
    # User name -> Argon2id hash. Empty: no login, which only loopback allows.
    users: Mapping[str, str] = field(default_factory=dict)
    session_minutes: int = 60
    page_size: int = 50
    # Signs the session cookies. None: a random one per process (logins end at restart).
    session_secret: str | None = None
    # Secrets that must never reach a page (the CRM+ token...), scrubbed from messages.
    secrets: Sequence[str] = ()
    # Unix seconds: when a session was last used is judged by it (tests move it on).
    clock: Callable[[], float] = time.time
