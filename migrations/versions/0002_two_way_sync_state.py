"""two-way sync state: conflicts, sync state, cursors; journal entries of creates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

- journal: ``contact_id`` becomes nullable (a create has no contact id until CRM+ answers)
  and ``local_key`` (the platform's key of the contact) is added, indexed with the
  organisation, so that a create interrupted by a crash can be found again;
- conflicts: fields both sides changed, for a data manager; at most one OPEN conflict per
  (organization, contact_id, path), enforced by a partial unique index on both backends;
- sync_state: where each contact's sync stands with the platform;
- cursors: incremental-pull high-water marks and the ids seen at them.

Existing rows are kept: on SQLite the journal is copied into a new table (batch mode),
constraints and indexes included; on PostgreSQL these are plain ALTERs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate may render SQLModel's AutoString
from alembic import context, op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here, not imported from syncengine: a migration must not change meaning when
# the models do.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONFLICT_STATUSES = ("open", "resolved", "auto")
OPEN_CONFLICT = "status = 'open'"


def upgrade() -> None:
    with op.batch_alter_table("journal") as batch_op:
        batch_op.add_column(sa.Column("local_key", sa.String(), nullable=True))
        batch_op.alter_column("contact_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.create_index(
            "ix_journal_organization_local_key", ["organization", "local_key"], unique=False
        )

    op.create_table(
        "conflicts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("base", JSON_DOCUMENT, nullable=False),
        sa.Column("platform", JSON_DOCUMENT, nullable=False),
        sa.Column("crm", JSON_DOCUMENT, nullable=False),
        sa.Column("platform_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("crm_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_author", sa.Text(), nullable=True),
        sa.Column("crm_author", sa.Text(), nullable=True),
        sa.Column("suggestion", JSON_DOCUMENT, nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", JSON_DOCUMENT, nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in CONFLICT_STATUSES) + ")",
            name=op.f("ck_conflicts_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
    )
    op.create_index("ix_conflicts_organization_status", "conflicts", ["organization", "status"])
    op.create_index(
        "ix_conflicts_organization_contact_id", "conflicts", ["organization", "contact_id"]
    )
    op.create_index(
        "uq_conflicts_one_open_per_field",
        "conflicts",
        ["organization", "contact_id", "path"],
        unique=True,
        sqlite_where=sa.text(OPEN_CONFLICT),
        postgresql_where=sa.text(OPEN_CONFLICT),
    )

    op.create_table(
        "sync_state",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("contact_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform_key", sa.String(), nullable=True),
        sa.Column("platform_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("organization", "contact_id", name=op.f("pk_sync_state")),
    )

    op.create_table(
        "cursors",
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("high_water", sa.String(), nullable=True),
        sa.Column("ids_at_high_water", JSON_DOCUMENT, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organization", "name", name=op.f("pk_cursors")),
    )


def downgrade() -> None:
    _refuse_if_creates_without_contact_id()
    op.drop_table("cursors")
    op.drop_table("sync_state")
    op.drop_index("uq_conflicts_one_open_per_field", table_name="conflicts")
    op.drop_index("ix_conflicts_organization_contact_id", table_name="conflicts")
    op.drop_index("ix_conflicts_organization_status", table_name="conflicts")
    op.drop_table("conflicts")
    with op.batch_alter_table("journal") as batch_op:
        batch_op.drop_index("ix_journal_organization_local_key")
        batch_op.alter_column("contact_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("local_key")


def _refuse_if_creates_without_contact_id() -> None:
    # 0001 has no place for a journal entry without a contact id. Deleting those entries
    # would lose the only trace of creates that may have happened in CRM+, so say so and
    # stop (before anything is dropped) instead of failing half-way on NOT NULL.
    if context.is_offline_mode():
        return
    count = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM journal WHERE contact_id IS NULL"))
        .scalar_one()
    )
    if count:
        raise RuntimeError(
            f"cannot downgrade below 0002: {count} journal entries have no contact id "
            "(creates); revision 0001 cannot hold them. Resolve or remove them first."
        )
