"""The ports: what the engine needs from the outside world, as Protocols.

Every side effect (CRM+ over HTTP, the mirror and journal database, the clock) sits
behind one of these, so the engine can be driven by the real adapters, by in-memory
twins, or by a fault-injecting simulation without a rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

# A CRM+ record exactly as JSON: plain dicts, lists and scalars. Unknown keys survive.
Record = dict[str, Any]


@dataclass(frozen=True)
class RateBudget:
    """What the CRM last said about the shared hourly request budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # Unix seconds


@dataclass(frozen=True)
class QueryPage:
    """One page of ``POST /api/Contact/Query/FullContact``."""

    items: list[Record]
    total: int


class CrmPort(Protocol):
    """The CRM+ endpoints a contact sync uses. Errors are ``syncengine.errors.CrmError``s."""

    def get_contact(self, contact_id: int) -> Record: ...

    def put_contact(self, contact_id: int, body: Record) -> Record: ...

    def create_contact(self, body: Record) -> Record: ...

    def find_contact_by_email(self, email: str) -> Record | None: ...

    def find_contact_by_reference(self, source: str, reference_id: str) -> Record | None: ...

    def query_full_contacts(self, query: Record, *, skip: int = 0, take: int = 1000) -> QueryPage: ...

    def archive_contact(self, contact_id: int) -> None: ...

    def unarchive_contact(self, contact_id: int) -> None: ...

    def get_address(self, address_id: int) -> Record: ...

    def put_address(self, address_id: int, body: Record) -> Record: ...

    def list_addresses(self, contact_id: int) -> list[Record]: ...

    def get_individual(self, individual_id: int) -> Record: ...

    def put_individual(self, individual_id: int, body: Record) -> Record: ...

    @property
    def requests_made(self) -> int: ...

    @property
    def budget(self) -> RateBudget: ...


@dataclass
class MirrorEntry:
    """The last-known CRM+ state of one contact: the merge base of the next sync."""

    contact_id: int
    record: Record
    modified_raw: str | None  # modifiedDateTimeUtc as the CRM rendered it
    content_hash: str
    fetched_at: datetime
    archived: bool = False
    merged_into: int | None = None


class MirrorStore(Protocol):
    def get(self, contact_id: int) -> MirrorEntry | None: ...

    def put(self, entry: MirrorEntry) -> None: ...

    def set_archived(self, contact_id: int, archived: bool) -> None: ...

    def all_ids(self) -> list[int]: ...


class Outcome(str, Enum):
    PENDING = "pending"  # intent written, the remote write not yet known to have happened
    OK = "ok"
    FAILED = "failed"  # the CRM refused it: nothing changed remotely
    UNKNOWN = "unknown"  # no answer: the write may or may not have happened
    MISMATCH = "mismatch"  # accepted, but verification did not find the intended state
    DRY_RUN = "dry-run"


@dataclass
class JournalEntry:
    """One remote write attempt. Written as PENDING before the request, closed after."""

    contact_id: int
    method: str
    endpoint: str
    fields: list[str]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    outcome: Outcome = Outcome.PENDING
    error: str | None = None
    note: str | None = None
    concurrent_write_suspected: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = None
    response_after: Mapping[str, Any] = field(default_factory=dict)


class Journal(Protocol):
    def open(self, entry: JournalEntry) -> int: ...

    def close(
        self,
        entry_id: int,
        outcome: Outcome,
        *,
        response_after: Mapping[str, Any] | None = None,
        error: str | None = None,
        note: str | None = None,
        concurrent_write_suspected: bool = False,
    ) -> None: ...

    def pending(self) -> Sequence[JournalEntry]: ...

    def for_contact(self, contact_id: int) -> Sequence[JournalEntry]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
