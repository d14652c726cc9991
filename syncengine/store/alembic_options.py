"""The options every Alembic migration context of the store uses.

Shared by ``migrations/env.py`` (upgrades, ``alembic check``, autogenerate) and the
in-process model check, so both judge "models and migrations agree" the same way.
"""

from typing import Any

from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

from syncengine.store.tables import metadata


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Compare only the store's own tables.

    The database may hold other tables (the scheduler's job store, another tool's), and
    autogenerate would otherwise propose dropping them. The price: dropping one of our
    tables must be written into a migration by hand.
    """
    if type_ == "table":
        return name in metadata.tables
    return True


def render_item(type_: str, obj: Any, _context: AutogenContext) -> str | bool:
    """Render our TypeDecorators as their plain SQLAlchemy type in generated migrations.

    A migration must keep working after the code it was generated from changes, so it
    must not import syncengine's column types.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        # Only the types used here need spelling out; anything else falls back to Alembic.
        if getattr(impl, "timezone", False):
            return "sa.DateTime(timezone=True)"
    return False


def context_options() -> dict[str, Any]:
    """Keyword arguments for ``context.configure`` / ``MigrationContext.configure``."""
    return {
        "target_metadata": metadata,
        # SQLite alters a table by copying it; "batch" operations do that for us, and are
        # plain ALTERs on PostgreSQL. Always on, so a revision generated against either
        # backend runs on both.
        "render_as_batch": True,
        "compare_type": True,
        "include_name": include_name,
        "render_item": render_item,
    }
