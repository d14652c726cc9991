"""run claims; outside writes in the journal; the mirror's lease columns go

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- claims: which process works on which contact (or new platform record) until when,
  shared by every process on the database; replaces the mirror's ``lease_owner`` /
  ``lease_until`` columns (never used: a lease on the mirror row could not cover a new
  platform record, which has no mirror row);
- journal: ``outside`` (a write made outside the two-way sync, e.g. ``push``) and
  ``carried_at`` (when its fields reached the platform), indexed with the organisation.
  Existing rows are sync writes, already in step with the platform: ``outside`` false.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate may render SQLModel's AutoString
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("organization", "subject", name=op.f("pk_claims")),
    )
    op.create_index("ix_claims_organization_owner", "claims", ["organization", "owner"])

    with op.batch_alter_table("journal") as batch_op:
        batch_op.add_column(
            sa.Column("outside", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("carried_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_journal_organization_outside_carried_at",
            ["organization", "outside", "carried_at"],
            unique=False,
        )

    with op.batch_alter_table("mirror") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")


def downgrade() -> None:
    with op.batch_alter_table("mirror") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("journal") as batch_op:
        batch_op.drop_index("ix_journal_organization_outside_carried_at")
        batch_op.drop_column("carried_at")
        batch_op.drop_column("outside")
    op.drop_index("ix_claims_organization_owner", table_name="claims")
    op.drop_table("claims")
