"""Click parameter types for the ids the commands take.

An id outside its range is a usage error (exit 2) raised while the arguments are parsed:
before any configuration is read and before anything is sent. ``push --contact -1``
must not become ``GET /api/Contact/-1``, nor ``sync --contact 0`` a traceback.
"""

from __future__ import annotations

import click

from syncengine.domain.records import MAX_CONTACT_ID, MIN_CONTACT_ID

# Conflict ids are the database's BIGINT keys: positive, below 2**63.
MAX_CONFLICT_ID = 2**63 - 1

# "-5 is not in the range 1<=x<=2147483647": the range is CRM+'s (domain.records).
CONTACT_ID = click.IntRange(MIN_CONTACT_ID, MAX_CONTACT_ID)
CONFLICT_ID = click.IntRange(1, MAX_CONFLICT_ID)
