"""Revision 0005 on a database in use at 0004: the conflicts already there get their
field and suggested side, so the review queue filters them like new ones."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, insert

from syncengine.domain.ports import ConflictQuery, ConflictStatus
from syncengine.store import SqlConflictStore, make_engine, upgrade

CREATED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine_at_0004(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine, "0004")
    yield engine
    engine.dispose()


def conflict_at_0004(contact_id: int, path: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "organization": "default",
        "contact_id": contact_id,
        "path": path,
        "base": None,
        "platform": "p",
        "crm": "c",
        "suggestion": None,
        "rule": "manual",
        "status": "open",
        "resolution": None,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    row.update(values)
    return row


def test_existing_conflicts_are_given_their_field_and_suggested_side(
    engine_at_0004: Engine,
) -> None:
    table = Table("conflicts", MetaData(), autoload_with=engine_at_0004)
    with engine_at_0004.begin() as connection:
        connection.execute(
            insert(table),
            [
                conflict_at_0004(1, "contactIndividuals[id=2].firstName", suggestion="p"),
                conflict_at_0004(2, "contactIndividuals[id=9].firstName", suggestion="c"),
                conflict_at_0004(3, "customFields[name=Shirt Size].value", suggestion={"x": 1}),
                conflict_at_0004(4, "name", platform=1, crm=True, suggestion=True),
            ],
        )
    upgrade(engine_at_0004)
    store = SqlConflictStore(engine_at_0004)

    def ids(**filters: Any) -> list[int]:
        page = store.page(ConflictQuery(status=ConflictStatus.OPEN, **filters))
        return [c.contact_id for c in page.items]

    assert ids(field="contactIndividuals[].firstName") == [1, 2]
    assert ids(field="customFields[name=Shirt Size].value") == [3]
    assert ids(suggests="platform") == [1]
    # True is not 1: the suggestion is CRM+'s value, not the platform's.
    assert ids(suggests="crm") == [2, 4]
    assert ids(suggests="other") == [3]
