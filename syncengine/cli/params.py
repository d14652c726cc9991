"""Click parameter types for the ids the commands take.

An id outside its range is a usage error (exit 2) raised while the arguments are parsed:
before any configuration is read and before anything is sent. ``push --contact -1``
must not become ``GET /api/Contact/-1``, nor ``sync --contact 0`` a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from syncengine.domain.records import MAX_CONTACT_ID, MIN_CONTACT_ID

# Conflict ids are the database's BIGINT keys: positive, below 2**63.
MAX_CONFLICT_ID = 2**63 - 1

# "-5 is not in the range 1<=x<=2147483647": the range is CRM+'s (domain.records).
CONTACT_ID = click.IntRange(MIN_CONTACT_ID, MAX_CONTACT_ID)
CONFLICT_ID = click.IntRange(1, MAX_CONFLICT_ID)


def moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An option's callback: a date or a date and time (ISO 8601: ``2026-11-30``,
    ``2026-11-30T08:00``, ``2026-11-30T08:00+01:00``); without a zone it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use 2026-11-30 or 2026-11-30T08:00 (UTC unless a "
            "zone is given, e.g. +01:00)",
            ctx=ctx,
            param=param,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
