"""Run claims in SQL: one process at a time per contact (or new platform record).

Taking a claim is ONE statement, ``INSERT ... ON CONFLICT (organization, subject) DO
UPDATE ... WHERE <the claim is expired or already ours>``, so the database decides
between racing processes:

- PostgreSQL: a second inserter waits on the first one's row and then evaluates the
  ``WHERE`` against it (committed): not expired, not ours, no update, 0 rows;
- SQLite: writers are serialised by the database lock (``busy_timeout`` waits for it),
  across processes too, so the statement sees the winner's row.

A claim is valid until ``until``; its holder renews all its claims at once (one UPDATE
by owner) while it works. A crashed holder stops renewing and its claims expire.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from syncengine.domain.ports import Claim
from syncengine.store.scoped import SqlRepository, mine
from syncengine.store.sessions import connected
from syncengine.store.tables import ClaimRow, metadata
from syncengine.store.timestamps import as_utc

_TABLE = metadata.tables["claims"]
_UPDATED_ON_TAKING = ("owner", "until", "acquired_at", "purpose")

# The statements, built once (see ``scoped.mine``).
_OWNERS = mine(_TABLE, _TABLE.c.owner == bindparam("w_owner"))
_GET = select(_TABLE).where(mine(_TABLE, _TABLE.c.subject == bindparam("w_subject")))
_RENEW = update(_TABLE).where(_OWNERS)
_SUBJECTS = select(_TABLE.c.subject).where(_OWNERS)
_RELEASE = delete(_TABLE).where(
    mine(_TABLE, _TABLE.c.subject == bindparam("w_subject"), _TABLE.c.owner == bindparam("w_owner"))
)
_RELEASE_ALL = delete(_TABLE).where(_OWNERS)
_HELD = (
    select(_TABLE)
    .where(mine(_TABLE, _TABLE.c.until > bindparam("w_now")))
    .order_by(_TABLE.c.subject)
)


@cache
def _take(dialect_name: str) -> Insert:
    """The claim's upsert, executed with the claim's row and ``w_owner``, ``w_now``."""
    taken_over = or_(_TABLE.c.until <= bindparam("w_now"), _TABLE.c.owner == bindparam("w_owner"))
    if dialect_name == "postgresql":
        pg = postgresql.insert(_TABLE)
        return pg.on_conflict_do_update(
            index_elements=["organization", "subject"],
            set_={name: pg.excluded[name] for name in _UPDATED_ON_TAKING},
            where=taken_over,
        ).returning(_TABLE.c.owner)
    lite = sqlite.insert(_TABLE)
    return lite.on_conflict_do_update(
        index_elements=["organization", "subject"],
        set_={name: lite.excluded[name] for name in _UPDATED_ON_TAKING},
        where=taken_over,
    ).returning(_TABLE.c.owner)


class SqlClaimStore(SqlRepository):
    """``ClaimStore`` on SQLite or PostgreSQL, limited to one organisation's claims."""

    _row_type = ClaimRow

    def acquire(
        self, subject: str, owner: str, *, until: datetime, now: datetime, purpose: str | None
    ) -> Claim | None:
        values = {
            "organization": self._organization,
            "subject": subject,
            "owner": owner,
            "until": as_utc(until),
            "acquired_at": as_utc(now),
            "purpose": purpose,
            "w_owner": owner,
            "w_now": as_utc(now),
        }
        with connected(self._engine) as connection:
            # RETURNING, not rowcount: drivers disagree on the rowcount of an upsert.
            statement = _take(self._engine.dialect.name)
            taken = connection.execute(statement, values).first() is not None
            if taken:
                return None
            row = connection.execute(_GET, self._params(w_subject=subject)).first()
            # Gone between the two statements (released): report it as free-but-lost,
            # the caller simply tries again later.
            return None if row is None else _to_claim(row)

    def renew(self, owner: str, *, until: datetime) -> list[str]:
        with connected(self._engine) as connection:
            connection.execute(_RENEW, self._params(w_owner=owner, until=as_utc(until)))
            return sorted(connection.execute(_SUBJECTS, self._params(w_owner=owner)).scalars())

    def release(self, subject: str, owner: str) -> None:
        with connected(self._engine) as connection:
            connection.execute(_RELEASE, self._params(w_subject=subject, w_owner=owner))

    def release_all(self, owner: str) -> None:
        with connected(self._engine) as connection:
            connection.execute(_RELEASE_ALL, self._params(w_owner=owner))

    def held(self, *, now: datetime) -> Sequence[Claim]:
        with connected(self._engine) as connection:
            rows = connection.execute(_HELD, self._params(w_now=as_utc(now)))
            return [_to_claim(row) for row in rows]


def _to_claim(row: Row[Any]) -> Claim:
    return Claim(
        subject=row.subject,
        owner=row.owner,
        until=row.until,
        acquired_at=row.acquired_at,
        purpose=row.purpose,
    )
