"""The contract table: every row of every route family. A new route adds its rows in a
``rows_<family>.py`` module and one line in ``DOCUMENTED`` (see ``__init__``)."""

from __future__ import annotations

import dataclasses

from tests.sandbox.contract import (
    rows_addresses,
    rows_collections,
    rows_contact,
    rows_imports,
    rows_items,
    rows_lookups,
    rows_query,
    rows_transport,
)
from tests.sandbox.contract.case import Auth, Case
from tests.sandbox.contract.schemas import UNAUTHORISED

DOCUMENTED: list[Case] = [
    *rows_contact.ROWS,
    *rows_query.ROWS,
    *rows_items.ROWS,
    *rows_transport.ROWS,
    *rows_lookups.ROWS,
    *rows_addresses.ROWS,
    *rows_imports.ROWS,
    *rows_collections.ROWS,
]


def with_a_wrong_token(rows: list[Case]) -> list[Case]:
    """For each request some row gets a success (2xx) for, the same request with a token the server
    does not know: the 401 body on every route, new ones included, without writing rows."""
    derived: dict[tuple[str, str], Case] = {}
    for case in rows:
        if case.succeeds and case.auth is Auth.TOKEN and not case.settings:
            derived.setdefault(
                (case.method, case.path),
                dataclasses.replace(
                    case,
                    name=f"{case.name}-wrong-token",
                    status=401,
                    answer=UNAUTHORISED,
                    auth=Auth.WRONG,
                    deviation="",
                ),
            )
    return list(derived.values())


ROWS: list[Case] = [*DOCUMENTED, *with_a_wrong_token(DOCUMENTED)]
