"""What every repository of the store shares: it is limited to one organisation.

``OrganizationScoped`` is the root of the SQL repositories and of their in-memory twins
(``memory.py``); ``SqlRepository`` adds the engine and the organisation filter, and
``ClockedSqlRepository`` the clock of the repositories that stamp times themselves.
The public constructors are these ones, inherited: keep their signatures as they are.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import BindParameter, ColumnElement, Engine, Table, and_, bindparam
from sqlmodel import col

from syncengine.store.sessions import connected
from syncengine.store.tables import DEFAULT_ORGANIZATION
from syncengine.store.timestamps import utcnow
from syncengine.store.upsert import upsert_statement

# The organisation in statements built once (see ``mine``): a repository binds its own
# at each execution (``SqlRepository._params``). Named unlike any column, so that it
# never clashes with the SET or VALUES parameters of an UPDATE or INSERT.
ORGANIZATION: BindParameter[str] = bindparam("w_organization")


def mine(table: Table, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The rows of ``table`` of the organisation bound at execution (``ORGANIZATION``),
    meeting ``conditions`` too: ``_mine`` for statements built once, with bound
    parameters, then executed with ``_params`` (no statement to build per call, and
    SQLAlchemy's compiled cache found by a cache key computed once)."""
    return and_(table.c.organization == ORGANIZATION, *conditions)


class OrganizationScoped:
    """A repository that sees one organisation's data only."""

    def __init__(self, organization: str = DEFAULT_ORGANIZATION) -> None:
        self._organization = organization

    @property
    def organization(self) -> str:
        return self._organization


class _OrganizationRow(Protocol):
    """A table with an ``organization`` column (every table of the store has one)."""

    organization: str


class SqlRepository(OrganizationScoped):
    """A repository on SQLite or PostgreSQL over one table, ``_row_type``.

    Every statement goes through ``_mine`` or ``mine`` (or a primary key that starts with
    the organisation), so no repository can read or write another organisation's rows. A
    statement built with ``mine`` and executed without ``_params`` fails ("a value is
    required for bind parameter 'w_organization'"): it never reads every organisation.
    """

    # The table this repository filters with ``_mine``; each subclass names its own.
    _row_type: ClassVar[type[_OrganizationRow]]

    def __init__(self, engine: Engine, organization: str = DEFAULT_ORGANIZATION) -> None:
        super().__init__(organization)
        self._engine = engine

    def _mine(self, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        """This organisation's rows of ``_row_type`` (those meeting ``conditions`` too)."""
        return and_(col(self._row_type.organization) == self._organization, *conditions)

    def _params(self, **values: Any) -> dict[str, Any]:
        """The parameters of a statement built with ``mine``: ``values`` and this
        organisation."""
        values[ORGANIZATION.key] = self._organization
        return values

    def _upsert(
        self,
        table: Table,
        values: Mapping[str, Any],
        *,
        key: Sequence[str],
        update: Sequence[str],
    ) -> None:
        """Insert this organisation's row ``values``, or overwrite the ``update`` columns
        of the one already there (see ``upsert``), in a transaction of its own."""
        statement = upsert_statement(
            self._engine.dialect.name, table, key=tuple(key), update=tuple(update)
        )
        with connected(self._engine) as connection:
            connection.execute(statement, {"organization": self._organization, **values})


class ClockedSqlRepository(SqlRepository):
    """A ``SqlRepository`` that stamps times itself, with ``clock`` (inject one in tests
    and simulations)."""

    def __init__(
        self,
        engine: Engine,
        organization: str = DEFAULT_ORGANIZATION,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, organization)
        self._clock = clock
