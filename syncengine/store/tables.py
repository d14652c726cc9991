"""The database tables: the mirror (merge bases), the journal (every write attempt), and
the two-way sync's state: conflicts, per-contact sync state and pull cursors.

No ``from __future__ import annotations`` here: SQLModel reads the annotations at class
creation time and breaks on strings.

Every constraint and index has a name (see ``NAMING_CONVENTION``): SQLite can only alter a
table by copying it ("batch" migrations), and the copy must be able to address each
constraint by name.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from syncengine.domain.ports import ConflictStatus, Outcome, ProblemKind
from syncengine.store.columns import (
    BigId,
    EscapedString,
    EscapedText,
    JsonDocument,
    UTCDateTime,
)

DEFAULT_ORGANIZATION = "default"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths: organisation keys and lease owners are short identifiers we choose; CRM+
# timestamps are ~28 characters; a sha256 hex digest is exactly 64.
ORGANIZATION_LENGTH = 64
OWNER_LENGTH = 255
# "contact:<id>" or "new:<platform key>"; platform keys are the platform's, so be generous.
SUBJECT_LENGTH = 512


class StoreModel(SQLModel):
    """Base of the store's tables, on its own MetaData.

    Not ``SQLModel.metadata``: that one is process-global, so any other module's table
    would leak into our migrations and ``alembic check``.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Columns that several tables spell the same way. Functions, not shared Column objects:
# a Column belongs to exactly one table, so each table needs a fresh one.


def _organization_field(*, primary_key: bool = False) -> Any:
    """The organisation a row belongs to; every table has one, most as the key's first part."""
    if primary_key:
        # NOT NULL goes without saying in a primary key: left unsaid, as it always was.
        column = Column(
            String(ORGANIZATION_LENGTH), primary_key=True, server_default=DEFAULT_ORGANIZATION
        )
    else:
        column = Column(
            String(ORGANIZATION_LENGTH), nullable=False, server_default=DEFAULT_ORGANIZATION
        )
    return Field(sa_column=column)


def _generated_id_field() -> Any:
    """A surrogate key the database assigns on insert (None until then)."""
    return Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))


def _json_field() -> Any:
    """A JSON value, NOT NULL: a Python None is stored as JSON ``null``."""
    return Field(sa_column=Column(JsonDocument, nullable=False))


def _one_of(column: str, values: Sequence[str]) -> CheckConstraint:
    """``column`` holds one of ``values`` (named ``ck_<table>_<column>``)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class MirrorRow(StoreModel, table=True):
    """The last-known CRM+ record of one contact of one organisation."""

    __tablename__ = "mirror"
    __table_args__ = (Index("ix_mirror_organization_modified_at", "organization", "modified_at"),)

    organization: str = _organization_field(primary_key=True)
    contact_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record: dict[str, Any] = _json_field()
    # Kept verbatim: it is what CRM+ compares against, and parsing may lose precision.
    modified_raw: str | None = Field(
        default=None, sa_column=Column(EscapedString(64), nullable=True)
    )
    # Parsed copy of modified_raw, for ordering and "changed since" queries only.
    modified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    archived: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    merged_into: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


OUTCOME_VALUES = tuple(outcome.value for outcome in Outcome)


class JournalRow(StoreModel, table=True):
    """One remote write attempt: written as pending before the request, closed after."""

    __tablename__ = "journal"
    __table_args__ = (
        Index("ix_journal_organization_outcome", "organization", "outcome"),
        Index("ix_journal_organization_contact_id", "organization", "contact_id"),
        # A create has no contact id until CRM+ answers; after a crash it is found again
        # by the platform's key.
        Index("ix_journal_organization_local_key", "organization", "local_key"),
        # The outside writes whose values the platform has not been given yet.
        Index(
            "ix_journal_organization_outside_carried_at", "organization", "outside", "carried_at"
        ),
        _one_of("outcome", OUTCOME_VALUES),
    )

    id: int | None = _generated_id_field()
    organization: str = _organization_field()
    # NULL only for a create whose contact id is not known yet.
    contact_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    local_key: str | None = Field(default=None, sa_column=Column(EscapedString, nullable=True))
    method: str = Field(sa_column=Column(String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(EscapedText, nullable=False))
    fields: list[str] = _json_field()
    before: dict[str, Any] = _json_field()
    after: dict[str, Any] = _json_field()
    response_after: dict[str, Any] = _json_field()
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    concurrent_write_suspected: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # A write made outside the two-way sync (push, archive): the contact's next sync
    # carries its fields to the platform and stamps carried_at.
    outside: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    carried_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class PlatformWriteRow(StoreModel, table=True):
    """A platform write journaled before it is made, until the contact's sync ends."""

    __tablename__ = "platform_writes"
    __table_args__ = (
        Index("ix_platform_writes_organization_contact_id", "organization", "contact_id"),
    )

    id: int | None = _generated_id_field()
    organization: str = _organization_field()
    contact_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # {path: [the platform's value before, the value written]}
    values: dict[str, Any] = _json_field()
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


CONFLICT_STATUS_VALUES = tuple(status.value for status in ConflictStatus)
# The predicate of the partial unique index below, spelt identically in migration 0002.
OPEN_CONFLICT = "status = 'open'"


class ConflictRow(StoreModel, table=True):
    """A field both sides changed (or one no policy may decide), for a data manager.

    JSON columns are NOT NULL: a Python None is stored as JSON ``null``, so "the value was
    null (or absent)" is one stored value, never confused with a column nobody wrote.
    """

    __tablename__ = "conflicts"
    __table_args__ = (
        Index("ix_conflicts_organization_status", "organization", "status"),
        Index("ix_conflicts_organization_contact_id", "organization", "contact_id"),
        # The review queue's filters over thousands of open conflicts.
        Index("ix_conflicts_organization_status_field", "organization", "status", "field"),
        # At most one OPEN conflict per field: a re-sync of a still-conflicting contact
        # refreshes that row (``record`` upserts against this index) instead of piling up
        # rows a data manager would have to resolve one by one. Resolved and auto rows are
        # history and may repeat.
        Index(
            "uq_conflicts_one_open_per_field",
            "organization",
            "contact_id",
            "path",
            unique=True,
            sqlite_where=text(OPEN_CONFLICT),
            postgresql_where=text(OPEN_CONFLICT),
        ),
        _one_of("status", CONFLICT_STATUS_VALUES),
    )

    id: int | None = _generated_id_field()
    organization: str = _organization_field()
    contact_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    path: str = Field(sa_column=Column(EscapedText, nullable=False))
    # Derived when recorded, for filtering in SQL: the path's field (``field_of``) and
    # which side the suggestion equals (``suggested_side``).
    field: str = Field(sa_column=Column(EscapedText, nullable=False, server_default=""))
    suggests: str = Field(sa_column=Column(String(16), nullable=False, server_default="other"))
    base: Any = _json_field()
    platform: Any = _json_field()
    crm: Any = _json_field()
    platform_modified: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    crm_modified: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    platform_author: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    crm_author: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    suggestion: Any = _json_field()
    rule: str = Field(sa_column=Column(EscapedString, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    resolution: Any = _json_field()
    resolved_by: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Where the decision came from, for the audit: "review 10.0.0.5", "cli".
    resolved_from: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    applied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SyncStateRow(StoreModel, table=True):
    """Where one contact's sync stands with the platform."""

    __tablename__ = "sync_state"

    organization: str = _organization_field(primary_key=True)
    contact_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    platform_key: str | None = Field(default=None, sa_column=Column(EscapedString, nullable=True))
    platform_modified: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    synced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_outcome: str | None = Field(default=None, sa_column=Column(EscapedString, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))


class CursorRow(StoreModel, table=True):
    """An incremental pull's high-water mark and the ids already seen at it."""

    __tablename__ = "cursors"

    organization: str = _organization_field(primary_key=True)
    name: str = Field(sa_column=Column(EscapedString, primary_key=True))
    # Kept verbatim, like the mirror's modified_raw: it goes back into the CRM's filter.
    high_water: str | None = Field(default=None, sa_column=Column(EscapedString, nullable=True))
    ids_at_high_water: list[int] = _json_field()
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ClaimRow(StoreModel, table=True):
    """A run's claim on a subject (``contact:4821``, ``new:<key>``): while it is valid,
    no other process works on that subject. Expired claims belong to crashed holders and
    are taken over."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_organization_owner", "organization", "owner"),)

    organization: str = _organization_field(primary_key=True)
    # A platform key is the platform's: it may hold what the database cannot (escaped).
    subject: str = Field(sa_column=Column(EscapedString(SUBJECT_LENGTH), primary_key=True))
    owner: str = Field(sa_column=Column(String(OWNER_LENGTH), nullable=False))
    until: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    acquired_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    purpose: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))


class WorkItemRow(StoreModel, table=True):
    """A contact waiting to be synced by the daemon's workers (one row per contact)."""

    __tablename__ = "work_queue"
    __table_args__ = (
        # What the workers ask for: the due items, most urgent first.
        Index("ix_work_queue_organization_priority_due_at", "organization", "priority", "due_at"),
    )

    organization: str = _organization_field(primary_key=True)
    contact_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    priority: int = Field(sa_column=Column(Integer, nullable=False))
    reason: str = Field(sa_column=Column(String(32), nullable=False))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    enqueued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    last_error: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    # The bulk query's record, when a pull saw one (saves the worker a GET).
    fresh: Any = Field(default=None, sa_column=Column(JsonDocument, nullable=True))
    generation: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # When the latest attempt failed: a record changed after it may have been fixed.
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class JobRunRow(StoreModel, table=True):
    """One run of a daemon job: when, by which worker, how it ended, what it counted."""

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_organization_started_at", "organization", "started_at"),
        Index("uq_job_runs_run_id", "run_id", unique=True),
    )

    id: int | None = _generated_id_field()
    organization: str = _organization_field()
    job: str = Field(sa_column=Column(String(32), nullable=False))
    run_id: str = Field(sa_column=Column(String(64), nullable=False))
    worker: str | None = Field(default=None, sa_column=Column(String(OWNER_LENGTH), nullable=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    outcome: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    counts: dict[str, int] = _json_field()
    error: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))


class BudgetRow(StoreModel, table=True):
    """The organisation's request budget as a token bucket, shared by its processes."""

    __tablename__ = "request_budget"

    organization: str = _organization_field(primary_key=True)
    tokens: float = Field(sa_column=Column(Float, nullable=False))
    updated_at: float = Field(sa_column=Column(Float, nullable=False))  # Unix seconds


PROBLEM_KIND_VALUES = tuple(kind.value for kind in ProblemKind)
# The predicate of the partial unique index below, spelt identically in migration 0005.
OPEN_PROBLEM = "resolved_at IS NULL"


class ProblemRow(StoreModel, table=True):
    """The latest failure of one subject that is not a conflict (see ``Problem``)."""

    __tablename__ = "problems"
    __table_args__ = (
        Index("ix_problems_organization_contact_id", "organization", "contact_id"),
        Index("ix_problems_organization_last_seen", "organization", "last_seen"),
        # One open problem per subject: a failure that repeats refreshes it.
        Index(
            "uq_problems_one_open_per_subject",
            "organization",
            "subject",
            unique=True,
            sqlite_where=text(OPEN_PROBLEM),
            postgresql_where=text(OPEN_PROBLEM),
        ),
        _one_of("kind", PROBLEM_KIND_VALUES),
    )

    id: int | None = _generated_id_field()
    organization: str = _organization_field()
    subject: str = Field(sa_column=Column(EscapedString(SUBJECT_LENGTH), nullable=False))
    contact_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    local_key: str | None = Field(default=None, sa_column=Column(EscapedText, nullable=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    message: str = Field(sa_column=Column(EscapedText, nullable=False))
    details: list[dict[str, Any]] = _json_field()
    count: int = Field(sa_column=Column(Integer, nullable=False))
    first_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


metadata = StoreModel.metadata
