"""reports and the review page: filterable conflicts, decisions' origin, problems

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

- conflicts: ``field`` (the path without item selectors) and ``suggests`` (which side the
  suggestion equals), derived when a conflict is recorded, so that the review queue
  filters thousands of open conflicts in SQL; ``resolved_from`` (where a decision came
  from: the review page's client address, or the command line), for the audit; an index
  on (organization, status, field). Existing rows are filled in here (online mode; an
  offline SQL script leaves the defaults, and each conflict is refreshed when its contact
  next syncs);
- problems: the latest failure of each contact or platform record that is not a conflict
  (a refused write, a duplicate, a merge, a malformed record), at most one open per
  subject (a partial unique index, as for open conflicts).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401 - autogenerate may render SQLModel's AutoString
from alembic import context, op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelt out here, not imported from syncengine: a migration must not change meaning when
# the models do.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROBLEM_KINDS = ("refused", "duplicate", "merged", "missing", "mismatch", "malformed", "failed")
OPEN_PROBLEM = "resolved_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("conflicts") as batch:
        batch.add_column(sa.Column("field", sa.Text(), server_default="", nullable=False))
        batch.add_column(
            sa.Column("suggests", sa.String(length=16), server_default="other", nullable=False)
        )
        batch.add_column(sa.Column("resolved_from", sa.Text(), nullable=True))
    op.create_index(
        "ix_conflicts_organization_status_field",
        "conflicts",
        ["organization", "status", "field"],
    )
    if not context.is_offline_mode():
        _derive_conflict_columns()

    op.create_table(
        "problems",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("organization", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("contact_id", sa.BigInteger(), nullable=True),
        sa.Column("local_key", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in PROBLEM_KINDS) + ")",
            name=op.f("ck_problems_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    op.create_index(
        "ix_problems_organization_contact_id", "problems", ["organization", "contact_id"]
    )
    op.create_index(
        "ix_problems_organization_last_seen", "problems", ["organization", "last_seen"]
    )
    op.create_index(
        "uq_problems_one_open_per_subject",
        "problems",
        ["organization", "subject"],
        unique=True,
        sqlite_where=sa.text(OPEN_PROBLEM),
        postgresql_where=sa.text(OPEN_PROBLEM),
    )


def downgrade() -> None:
    op.drop_index("uq_problems_one_open_per_subject", table_name="problems")
    op.drop_index("ix_problems_organization_last_seen", table_name="problems")
    op.drop_index("ix_problems_organization_contact_id", table_name="problems")
    op.drop_table("problems")
    op.drop_index("ix_conflicts_organization_status_field", table_name="conflicts")
    with op.batch_alter_table("conflicts") as batch:
        batch.drop_column("resolved_from")
        batch.drop_column("suggests")
        batch.drop_column("field")


def _derive_conflict_columns() -> None:
    """Fill ``field`` and ``suggests`` of the conflicts already there.

    The derivation is the domain's (``field_of``, ``suggested_side``): imported here, at
    upgrade time, because it is what the store computes for every new conflict; a copy
    would drift from it.
    """
    from syncengine.domain.paths import field_of
    from syncengine.domain.ports import ConflictRecord, suggested_side

    conflicts = sa.table(
        "conflicts",
        sa.column("id", sa.BigInteger()),
        sa.column("path", sa.Text()),
        sa.column("platform", JSON_DOCUMENT),
        sa.column("crm", JSON_DOCUMENT),
        sa.column("suggestion", JSON_DOCUMENT),
        sa.column("field", sa.Text()),
        sa.column("suggests", sa.String(16)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            conflicts.c.id,
            conflicts.c.path,
            conflicts.c.platform,
            conflicts.c.crm,
            conflicts.c.suggestion,
        )
    ).all()
    for row in rows:
        record = ConflictRecord(
            contact_id=0,
            path=row.path,
            base=None,
            platform=row.platform,
            crm=row.crm,
            platform_modified=None,
            crm_modified=None,
            platform_author=None,
            crm_author=None,
            suggestion=row.suggestion,
            rule="",
        )
        bind.execute(
            sa.update(conflicts)
            .where(conflicts.c.id == row.id)
            .values(field=field_of(row.path), suggests=suggested_side(record))
        )

