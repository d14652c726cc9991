"""when a queued contact last failed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

- work_queue.failed_at: when the item's latest attempt failed (NULL: it never failed).
  The push job retries at once a failing contact whose platform record changed after
  that time (its cause may be fixed) instead of leaving it to wait out its backoff.
  Items that failed before this revision keep NULL, hence their backoff, until their
  next failure records its time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_queue") as batch_op:
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table (older SQLite versions cannot drop a column).
    with op.batch_alter_table("work_queue") as batch_op:
        batch_op.drop_column("failed_at")
