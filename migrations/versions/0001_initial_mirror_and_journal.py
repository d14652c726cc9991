"""initial mirror and journal

Revision ID: 0001
Revises:
Create Date: 2026-11-29

The mirror keeps the last-known CRM+ record of each contact (the merge base of the next
sync), keyed by organisation; the journal records every remote write attempt. The lease
columns are unused by a single worker and exist so that several workers can share a
database later without a table rewrite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate may render SQLModel's AutoString
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here, not imported from syncengine: a migration must not change meaning when
# the models do.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OUTCOMES = ("pending", "ok", "failed", "unknown", "mismatch", "dry-run")


def upgrade() -> None:
    op.create_table(
        "mirror",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record", JSON_DOCUMENT, nullable=False),
        sa.Column("modified_raw", sa.String(length=64), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("organization", "contact_id", name=op.f("pk_mirror")),
    )
    op.create_index(
        "ix_mirror_organization_modified_at", "mirror", ["organization", "modified_at"]
    )

    op.create_table(
        "journal",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("fields", JSON_DOCUMENT, nullable=False),
        sa.Column("before", JSON_DOCUMENT, nullable=False),
        sa.Column("after", JSON_DOCUMENT, nullable=False),
        sa.Column("response_after", JSON_DOCUMENT, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "concurrent_write_suspected", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IN (" + ", ".join(f"'{value}'" for value in OUTCOMES) + ")",
            name=op.f("ck_journal_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    op.create_index("ix_journal_organization_outcome", "journal", ["organization", "outcome"])
    op.create_index(
        "ix_journal_organization_contact_id", "journal", ["organization", "contact_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_journal_organization_contact_id", table_name="journal")
    op.drop_index("ix_journal_organization_outcome", table_name="journal")
    op.drop_table("journal")
    op.drop_index("ix_mirror_organization_modified_at", table_name="mirror")
    op.drop_table("mirror")
