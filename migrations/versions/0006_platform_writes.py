"""platform writes journaled before they are made

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

- platform_writes: a write the sync is about to make to the platform, per field the
  platform's value before and the value written, kept until the contact's sync ends. A
  run that dies between the platform write and the mirror update leaves it behind; the
  contact's next sync reads it to tell whether the write landed (the merge base then
  takes the written value) and never carries an outside write over a later platform edit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here, not imported from syncengine: a migration must not change meaning when
# the models do.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "platform_writes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("values", JSON_DOCUMENT, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_writes")),
    )
    op.create_index(
        "ix_platform_writes_organization_contact_id",
        "platform_writes",
        ["organization", "contact_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_platform_writes_organization_contact_id", table_name="platform_writes")
    op.drop_table("platform_writes")
