"""A first `sync --all` over contacts both sides already hold alike: they are linked in
bulk (engine.first_links) without one request or claim each, and what it records (the
agreed record as the merge base, the platform record as synced) is what later runs
build on: an edit on either side afterwards flows, and a quiet run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncengine.bootstrap import open_app
from syncengine.store import SqlSyncStateStore
from tests.engine.conftest import files_engine_settings, write_settled
from tests.fixtures.sandbox import SandboxFactory

IDS = range(501, 531)
DIFFERS = 530  # its platform record holds another informal name: a first sync pushes it


def _contact(contact_id: int) -> dict[str, Any]:
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
        "modifiedDateTimeUtc": "2024-05-01T10:00:00.5",
    }


def _document(folder: Path, contact_id: int, *, settled: bool = False, **changes: Any) -> None:
    document = {**_contact(contact_id), **changes}
    del document["modifiedDateTimeUtc"]  # CRM+'s, not the platform's
    path = folder / f"{contact_id}.json"
    if settled:
        write_settled(path, document)
    else:
        path.write_text(json.dumps(document), encoding="utf-8")


def test_agreeing_contacts_are_linked_in_bulk_and_later_edits_flow_both_ways(
    sandbox_factory: SandboxFactory, database_url: str, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(seed={"contacts": [_contact(i) for i in IDS]})
    folder = tmp_path / "platform"
    folder.mkdir()
    for contact_id in IDS:
        _document(folder, contact_id, settled=True)
    _document(folder, DIFFERS, settled=True, informalName="Renamed on the platform")
    settings = files_engine_settings(sandbox.base_url, database_url, folder)
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        first = app.runner().run_all(force=True)

        assert first.counts() == {"unchanged": len(IDS) - 1, "pushed": 1}, first.to_json()
        contact_reads = {r.path for r in sandbox.hooks.requests() if r.method == "GET"}
        assert contact_reads == {f"/api/Contact/{DIFFERS}"}, "no request per agreeing contact"
        states = SqlSyncStateStore(app.database)
        for contact_id in IDS:
            entry = app.mirror.get(contact_id)
            assert entry is not None and entry.record["name"] == f"The {contact_id} Household"
            if contact_id != DIFFERS:  # the push moved its stamp
                assert entry.modified_raw == "2024-05-01T10:00:00.5"
            state = states.get(contact_id)
            local = app.platform().get(contact_id)
            assert state is not None and local is not None
            assert (state.platform_key, state.platform_modified) == (local.key, local.modified_at)

        quiet = app.runner().run_all()
        assert quiet.counts() == {"unchanged": len(IDS)}, quiet.to_json()

        _document(folder, 501, informalName="Edited on the platform")
        sandbox.hooks.ui_edit(502, {"informalName": "Edited in CRM+"})
        after = app.runner().run_all()

        assert after.counts() == {"unchanged": len(IDS) - 2, "pushed": 1, "pulled": 1}
        assert sandbox.hooks.raw_contact(501)["informalName"] == "Edited on the platform"
        pulled = json.loads((folder / "502.json").read_text(encoding="utf-8"))
        assert pulled["informalName"] == "Edited in CRM+"
