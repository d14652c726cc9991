"""The bulk refresh of ``sync --all``: keyset paging by Contact Id, 1,000 a page, and a
day-overlapping Last Modified Date window on later runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncengine.bootstrap import open_app
from syncengine.store import SqlCursorStore
from tests.engine.conftest import files_engine_settings
from tests.fixtures.sandbox import SandboxFactory

TOTAL = 2_345


def _contact(contact_id: int) -> dict[str, Any]:
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"Household {contact_id}",
        "modifiedDateTimeUtc": f"2024-05-{1 + contact_id % 28:02d}T10:00:00.5",
    }


def test_all_pages_through_every_contact_by_keyset_then_overlaps_a_day(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(seed={"contacts": [_contact(i) for i in range(1, TOTAL + 1)]})
    (tmp_path / "platform").mkdir()
    settings = files_engine_settings(
        sandbox.base_url, f"sqlite:///{tmp_path}/mirror.db", tmp_path / "platform"
    )
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        app.runner().run_all()
        queries = [r for r in sandbox.hooks.requests() if "Query" in r.path]
        assert [r.query.get("take") for r in queries] == ["1000"] * 3
        assert [r.query.get("skip") for r in queries] == ["0"] * 3, "keyset, never a large skip"
        after = [_condition(r.body, "Contact Id")["value"] for r in queries]
        assert after == ["0", "1000", "2000"]
        assert all(_condition(r.body, "Last Modified Date") is None for r in queries)

        cursor = SqlCursorStore(app.database).get("contacts")
        assert cursor is not None and cursor.high_water == "2024-05-28T10:00:00.5"

        sandbox.hooks.clear_requests()
        app.runner().run_all()
        (query,) = [r for r in sandbox.hooks.requests() if "Query" in r.path]
        window = _condition(query.body, "Last Modified Date")
        assert window == {
            "parameter": "Last Modified Date",
            "operator": "OnOrAfter",
            "value": "2024-05-27",
        }


def _condition(body: Any, parameter: str) -> dict[str, Any] | None:
    for group in body["groups"]:
        for condition in group["conditions"]:
            if condition["parameter"] == parameter:
                return dict(condition)
    return None
