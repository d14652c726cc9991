"""The contract table: every row of every route family. A new route adds its rows in a
``rows_<family>.py`` module and one line here (see ``__init__``)."""

from __future__ import annotations

from tests.sandbox.contract import rows_contact, rows_items, rows_query, rows_transport
from tests.sandbox.contract.case import Case

ROWS: list[Case] = [
    *rows_contact.ROWS,
    *rows_query.ROWS,
    *rows_items.ROWS,
    *rows_transport.ROWS,
]
