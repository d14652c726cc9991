"""The database tables: the mirror (merge bases) and the journal (every write attempt).

No ``from __future__ import annotations`` here: SQLModel reads the annotations at class
creation time and breaks on strings.

Every constraint and index has a name (see ``NAMING_CONVENTION``): SQLite can only alter a
table by copying it ("batch" migrations), and the copy must be able to address each
constraint by name.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    MetaData,
    String,
    Text,
    false,
)
from sqlmodel import Field, SQLModel

from syncengine.domain.ports import Outcome
from syncengine.store.columns import BigId, JsonDocument, UTCDateTime

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


class StoreModel(SQLModel):
    """Base of the store's tables, on its own MetaData.

    Not ``SQLModel.metadata``: that one is process-global, so any other module's table
    would leak into our migrations and ``alembic check``.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class MirrorRow(StoreModel, table=True):
    """The last-known CRM+ record of one contact of one organisation."""

    __tablename__ = "mirror"
    __table_args__ = (Index("ix_mirror_organization_modified_at", "organization", "modified_at"),)

    organization: str = Field(
        sa_column=Column(
            String(ORGANIZATION_LENGTH),
            primary_key=True,
            server_default=DEFAULT_ORGANIZATION,
        )
    )
    contact_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    record: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    # Kept verbatim: it is what CRM+ compares against, and parsing may lose precision.
    modified_raw: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # Parsed copy of modified_raw, for ordering and "changed since" queries only.
    modified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    archived: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    merged_into: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Row leases for several workers: who may sync this contact, and until when.
    lease_owner: str | None = Field(
        default=None, sa_column=Column(String(OWNER_LENGTH), nullable=True)
    )
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


OUTCOME_VALUES = tuple(outcome.value for outcome in Outcome)


class JournalRow(StoreModel, table=True):
    """One remote write attempt: written as pending before the request, closed after."""

    __tablename__ = "journal"
    __table_args__ = (
        Index("ix_journal_organization_outcome", "organization", "outcome"),
        Index("ix_journal_organization_contact_id", "organization", "contact_id"),
        CheckConstraint(
            "outcome IN (" + ", ".join(f"'{value}'" for value in OUTCOME_VALUES) + ")",
            name="outcome",
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    organization: str = Field(
        sa_column=Column(
            String(ORGANIZATION_LENGTH), nullable=False, server_default=DEFAULT_ORGANIZATION
        )
    )
    contact_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    method: str = Field(sa_column=Column(String(16), nullable=False))
    endpoint: str = Field(sa_column=Column(Text, nullable=False))
    fields: list[str] = Field(sa_column=Column(JsonDocument, nullable=False))
    before: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    after: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    response_after: dict[str, Any] = Field(sa_column=Column(JsonDocument, nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    concurrent_write_suspected: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


metadata = StoreModel.metadata
