"""the daemon's work queue and the runs of its jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- work_queue: contacts waiting to be synced by the daemon's workers, one row per contact
  and organisation (a webhook, an enqueue, a platform or CRM change, a retry after a
  failure waiting out its backoff), with the bulk query's record when a pull saw one;
- job_runs: one row per run of a daemon job (push, pull, reconcile), for `status` and
  the metrics;
- request_budget: the organisation's hourly request budget as a token bucket that every
  daemon process on the database draws from (so several workers do not multiply it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate may render SQLModel's AutoString
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here, not imported from syncengine: a migration must not change meaning when
# the models do.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "work_queue",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("fresh", JSON_DOCUMENT, nullable=True),
        sa.Column("generation", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("organization", "contact_id", name=op.f("pk_work_queue")),
    )
    op.create_index(
        "ix_work_queue_organization_priority_due_at",
        "work_queue",
        ["organization", "priority", "due_at"],
    )
    op.create_table(
        "job_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("counts", JSON_DOCUMENT, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    op.create_index(
        "ix_job_runs_organization_started_at", "job_runs", ["organization", "started_at"]
    )
    op.create_index("uq_job_runs_run_id", "job_runs", ["run_id"], unique=True)
    op.create_table(
        "request_budget",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("organization", name=op.f("pk_request_budget")),
    )


def downgrade() -> None:
    op.drop_table("request_budget")
    op.drop_index("uq_job_runs_run_id", table_name="job_runs")
    op.drop_index("ix_job_runs_organization_started_at", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_index("ix_work_queue_organization_priority_due_at", table_name="work_queue")
    op.drop_table("work_queue")
